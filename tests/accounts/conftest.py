from tests.oidc_provider.fixture import oidc_provider  # noqa: F401  (fixture: a real OpenID provider)
