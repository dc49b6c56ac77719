"""The claims the test provider vouches for: email, whether it is verified, a username."""

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator

# Members of this provider group have an email address the provider has not verified.
UNVERIFIED = "unverified-email"


class Validator(OAuth2Validator):
    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = request.user
        return {
            "email": user.email,
            "email_verified": not user.groups.filter(name=UNVERIFIED).exists(),
            "preferred_username": user.username,
        }
