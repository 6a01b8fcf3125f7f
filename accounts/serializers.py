"""Request and response shapes of the token endpoints."""

from __future__ import annotations

from knox.models import AuthToken
from rest_framework import serializers


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(
        max_length=4096, trim_whitespace=False, style={"input_type": "password"}
    )


class TokenCreatedSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")
    token_key = serializers.CharField(help_text="Public prefix, used to revoke the token.")
    expiry = serializers.DateTimeField(allow_null=True)


class TokenSerializer(serializers.Serializer):
    token_key = serializers.CharField()
    created = serializers.DateTimeField()
    expiry = serializers.DateTimeField(allow_null=True)
    current = serializers.SerializerMethodField()

    def get_current(self, token: AuthToken) -> bool:
        auth = getattr(self.context.get("request"), "auth", None)
        return isinstance(auth, AuthToken) and auth.digest == token.digest
