"""``Credentials``: what checks people's and shops' credentials and issues tokens, built once per process.

It holds the passwords (the peppered argon2id hasher, its bounded pool and the
password rules), the admission of logins to that pool, the keyed digests of
opaque tokens (refresh and MFA tokens), the recovery codes, the access-token
issuer and its signing keys, which clients are enabled, the email blind index
a login looks its account up by, the login throttle's key and storage (Redis,
shared by every process, or the database, per unit of work), and the
lifetimes of sessions and MFA tokens. Every request and worker thread shares
it; what changes per unit of work (the session, the clock, the keys) is in
``work.Work``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from privacy_service.core.clock import Clock
from privacy_service.core.config import Settings
from privacy_service.crypto import Argon2Parameters, BlindIndex, PasswordHasher
from privacy_service.crypto.opaque_tokens import OpaqueTokenDigests
from privacy_service.crypto.pepper import PepperPurpose, pepper_subkey
from privacy_service.crypto.recovery_codes import RecoveryCodes
from privacy_service.identity.accounts import Passwords
from privacy_service.identity.admission import LoginAdmission
from privacy_service.identity.clients import EnabledClients
from privacy_service.identity.hashing_pool import PasswordWorkPool
from privacy_service.identity.password_rules import PasswordPolicy
from privacy_service.identity.throttle import DatabaseFailureStore, LoginThrottle, RedisFailureStore
from privacy_service.identity.tokens import TokenIssuer
from privacy_service.keys.service import Keyring
from privacy_service.vault.lookup import email_index
from privacy_service.work import Work


@dataclass(frozen=True)
class Credentials:
    passwords: Passwords
    admission: LoginAdmission
    digests: OpaqueTokenDigests
    recovery: RecoveryCodes
    tokens: TokenIssuer
    emails: BlindIndex
    throttle_key: bytes
    redis_failures: RedisFailureStore | None
    session_lifetime: timedelta
    mfa_token_lifetime: timedelta
    totp_issuer: str
    clients: EnabledClients = field(default_factory=EnabledClients)

    @classmethod
    def from_settings(cls, settings: Settings, *, keyring: Keyring, clock: Clock) -> Credentials:
        provider = keyring.provider
        pepper = provider.pepper_key()
        parameters = Argon2Parameters(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            insecure_for_tests=settings.argon2_insecure_for_tests,
        )
        pool = PasswordWorkPool(
            workers=settings.password_pool_workers,
            queue_size=settings.password_pool_queue,
            wait_seconds=settings.password_pool_wait_seconds,
        )
        hasher = PasswordHasher(pepper_key=pepper, parameters=parameters)
        pool.calibrate(lambda: hasher.hash("a hash timed at start-up", account_id="calibration"))
        passwords = Passwords(
            hasher=hasher,
            pool=pool,
            customer_policy=PasswordPolicy(minimum_length=settings.password_min_length),
            staff_policy=PasswordPolicy(minimum_length=settings.staff_password_min_length),
        )
        issuer = settings.public_url or "http://127.0.0.1:8000"
        return cls(
            passwords=passwords,
            admission=LoginAdmission(pool=pool, clock=clock),
            digests=OpaqueTokenDigests(pepper_key=pepper),
            recovery=RecoveryCodes(pepper_key=pepper),
            tokens=TokenIssuer(
                provider=provider,
                clock=clock,
                issuer=issuer,
                access_token_seconds=settings.access_token_seconds,
                key_cache_seconds=settings.signing_key_cache_seconds,
            ),
            emails=email_index(provider),
            throttle_key=pepper_subkey(pepper, purpose=PepperPurpose.LOGIN_THROTTLE),
            redis_failures=RedisFailureStore(url=settings.rate_limit_url)
            if settings.rate_limit_url
            else None,
            session_lifetime=timedelta(days=settings.session_days),
            mfa_token_lifetime=timedelta(seconds=settings.mfa_token_seconds),
            totp_issuer=settings.totp_issuer,
        )

    def throttle(self, work: Work) -> LoginThrottle:
        """The login throttle for one unit of work: Redis when configured, else the caller's transaction."""
        store = self.redis_failures or DatabaseFailureStore(session=work.session, clock=work.clock)
        return LoginThrottle(store=store, digest_key=self.throttle_key)

    def close(self) -> None:
        self.passwords.pool.shutdown()
