from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bayflow.crypto.jose import (
    JWKSet,
    PrivateJWK,
    loads_json_object,
    sign_detached,
    verify_detached,
)
from bayflow.errors import InvalidInput, VerificationFailed
from bayflow.exchange.errors import WebhookRejected, WebhookReplayed, WebhookStale
from bayflow.exchange.notifications import (
    DEFAULT_TOLERANCE,
    WEBHOOK_TYP,
    EventType,
    InMemoryReplayCache,
    Notification,
    RetryPolicy,
    SignedDelivery,
    check_event_types,
    check_webhook_url,
    sign_delivery,
    verify_webhook,
)
from bayflow.ids import new_id
from tests.strategies import json_records

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
HUB_KEY = PrivateJWK.generate()
OTHER_KEY = PrivateJWK.generate()
HUB_KEYS = JWKSet([HUB_KEY.public])


def notification(**changes: Any) -> Notification:
    fields: dict[str, Any] = {
        "id": new_id("msg"),
        "organisation_id": new_id("org"),
        "event_type": EventType.CONSENT_REVOKED.value,
        "payload": {"consent": "con_x", "version": 1, "state": "revoked"},
        "created_at": NOW,
    }
    fields.update(changes)
    return Notification(**fields)


def verify(delivery: SignedDelivery, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("now", NOW)
    kwargs.setdefault("seen", InMemoryReplayCache())
    return verify_webhook(delivery.headers, delivery.body, kwargs.pop("keys", HUB_KEYS), **kwargs)


class TestSignDelivery:
    """Deliveries carry their id, a timestamp and a detached JWS over both and the body."""

    def test_body_holds_id_type_time_and_data(self) -> None:
        message = notification()
        delivery = sign_delivery(message, HUB_KEY, now=NOW)
        assert loads_json_object(delivery.body) == {
            "id": message.id,
            "type": "consent.revoked",
            "created_at": "2026-11-22T09:00:00+00:00",
            "data": {"consent": "con_x", "version": 1, "state": "revoked"},
        }
        assert delivery.headers["Content-Type"] == "application/json"
        assert delivery.headers["Bayflow-Delivery"] == message.id
        assert delivery.headers["Bayflow-Timestamp"] == str(int(NOW.timestamp()))

    def test_signature_is_a_detached_ed25519_jws_over_id_timestamp_and_body(self) -> None:
        message = notification()
        delivery = sign_delivery(message, HUB_KEY, now=NOW)
        content = f"{message.id}.{int(NOW.timestamp())}.".encode() + delivery.body
        jws = verify_detached(
            delivery.headers["Bayflow-Signature"], content, HUB_KEY.public, typ=WEBHOOK_TYP
        )
        assert jws.alg == "Ed25519"
        assert jws.kid == HUB_KEY.kid

    def test_each_attempt_is_signed_at_its_own_time_over_the_same_body(self) -> None:
        message = notification()
        first = sign_delivery(message, HUB_KEY, now=NOW)
        retry = sign_delivery(message, HUB_KEY, now=NOW + timedelta(minutes=10))
        assert first.body == retry.body
        assert first.headers["Bayflow-Timestamp"] != retry.headers["Bayflow-Timestamp"]
        assert first.headers["Bayflow-Delivery"] == retry.headers["Bayflow-Delivery"]

    def test_an_id_with_a_dot_cannot_be_signed(self) -> None:
        with pytest.raises(ValueError, match="delivery id"):
            sign_delivery(notification(id="msg.1"), HUB_KEY, now=NOW)


class TestVerifyWebhook:
    """Receivers accept a fresh, authentic delivery once and refuse everything else."""

    def test_an_authentic_fresh_delivery_returns_its_body(self) -> None:
        message = notification()
        body = verify(sign_delivery(message, HUB_KEY, now=NOW))
        assert body["id"] == message.id
        assert body["data"]["state"] == "revoked"

    def test_header_names_compare_without_case(self) -> None:
        delivery = sign_delivery(notification(), HUB_KEY, now=NOW)
        lowered = SignedDelivery({k.lower(): v for k, v in delivery.headers.items()}, delivery.body)
        assert verify(lowered)["id"] == delivery.headers["Bayflow-Delivery"]

    def test_a_single_public_key_serves_as_well_as_a_set(self) -> None:
        delivery = sign_delivery(notification(), HUB_KEY, now=NOW)
        assert verify(delivery, keys=HUB_KEY.public)

    def test_the_key_is_chosen_by_kid_from_a_set_of_several(self) -> None:
        delivery = sign_delivery(notification(), HUB_KEY, now=NOW)
        assert verify(delivery, keys=JWKSet([OTHER_KEY.public, HUB_KEY.public]))

    def test_another_key_is_refused(self) -> None:
        delivery = sign_delivery(notification(), OTHER_KEY, now=NOW)
        with pytest.raises(WebhookRejected, match="no trusted key"):
            verify(delivery)
        with pytest.raises(WebhookRejected, match="signature"):
            verify(delivery, keys=HUB_KEY.public)

    @given(
        data=json_records(max_size=4), position=st.integers(min_value=0), flip=st.integers(1, 255)
    )
    def test_any_altered_body_byte_fails(
        self, data: dict[str, object], position: int, flip: int
    ) -> None:
        delivery = sign_delivery(notification(payload=data), HUB_KEY, now=NOW)
        body = bytearray(delivery.body)
        body[position % len(body)] ^= flip
        with pytest.raises(WebhookRejected):
            verify(SignedDelivery(delivery.headers, bytes(body)))

    @given(
        header=st.sampled_from(["Bayflow-Delivery", "Bayflow-Signature"]),
        position=st.integers(min_value=0),
        replacement=st.characters(min_codepoint=0x21, max_codepoint=0x7E),
    )
    def test_any_altered_header_character_fails(
        self, header: str, position: int, replacement: str
    ) -> None:
        delivery = sign_delivery(notification(), HUB_KEY, now=NOW)
        value = delivery.headers[header]
        index = position % len(value)
        altered = value[:index] + replacement + value[index + 1 :]
        headers = {**delivery.headers, header: altered}
        if altered == value:
            return
        with pytest.raises(WebhookRejected):
            verify(SignedDelivery(headers, delivery.body))

    @given(shift=st.integers(min_value=-300, max_value=300).filter(bool))
    def test_a_shifted_timestamp_breaks_the_signature(self, shift: int) -> None:
        delivery = sign_delivery(notification(), HUB_KEY, now=NOW)
        timestamp = str(int(NOW.timestamp()) + shift)
        headers = {**delivery.headers, "Bayflow-Timestamp": timestamp}
        with pytest.raises(WebhookRejected, match="signature"):
            verify(SignedDelivery(headers, delivery.body))

    @pytest.mark.parametrize("age", [DEFAULT_TOLERANCE, -DEFAULT_TOLERANCE])
    def test_a_delivery_at_the_edge_of_the_tolerance_is_accepted(self, age: timedelta) -> None:
        delivery = sign_delivery(notification(), HUB_KEY, now=NOW)
        assert verify(delivery, now=NOW + age)

    @pytest.mark.parametrize("age", [timedelta(minutes=5, seconds=1), timedelta(minutes=-6)])
    def test_a_stale_or_future_delivery_is_refused(self, age: timedelta) -> None:
        delivery = sign_delivery(notification(), HUB_KEY, now=NOW)
        with pytest.raises(WebhookStale, match="more than"):
            verify(delivery, now=NOW + age)

    def test_the_tolerance_is_the_receivers_choice(self) -> None:
        delivery = sign_delivery(notification(), HUB_KEY, now=NOW)
        late = NOW + timedelta(seconds=31)
        with pytest.raises(WebhookStale):
            verify(delivery, now=late, tolerance=timedelta(seconds=30))

    def test_a_replayed_delivery_is_refused(self) -> None:
        seen = InMemoryReplayCache()
        delivery = sign_delivery(notification(), HUB_KEY, now=NOW)
        verify(delivery, seen=seen)
        with pytest.raises(WebhookReplayed, match="received before"):
            verify(delivery, seen=seen, now=NOW + timedelta(seconds=1))

    def test_a_retry_signed_later_is_recognised_as_the_same_delivery(self) -> None:
        seen = InMemoryReplayCache()
        message = notification()
        verify(sign_delivery(message, HUB_KEY, now=NOW), seen=seen)
        later = NOW + timedelta(hours=3)
        with pytest.raises(WebhookReplayed):
            verify(sign_delivery(message, HUB_KEY, now=later), seen=seen, now=later)

    def test_a_forgery_does_not_make_the_real_delivery_look_replayed(self) -> None:
        seen = InMemoryReplayCache()
        real = sign_delivery(notification(), HUB_KEY, now=NOW)
        forged = SignedDelivery(real.headers, real.body + b" ")
        with pytest.raises(WebhookRejected):
            verify(forged, seen=seen)
        assert verify(real, seen=seen)

    def test_a_signature_with_another_typ_is_refused(self) -> None:
        message = notification()
        timestamp = str(int(NOW.timestamp()))
        body = message.body()
        content = f"{message.id}.{timestamp}.".encode() + body
        headers = {
            "Bayflow-Delivery": message.id,
            "Bayflow-Timestamp": timestamp,
            "Bayflow-Signature": sign_detached(HUB_KEY, content, typ="at+jwt"),
        }
        with pytest.raises(WebhookRejected, match="typ"):
            verify(SignedDelivery(headers, body))

    def test_a_body_for_another_delivery_is_refused(self) -> None:
        message, other = notification(), notification()
        timestamp = str(int(NOW.timestamp()))
        body = other.body()
        content = f"{message.id}.{timestamp}.".encode() + body
        headers = {
            "Bayflow-Delivery": message.id,
            "Bayflow-Timestamp": timestamp,
            "Bayflow-Signature": sign_detached(HUB_KEY, content, typ=WEBHOOK_TYP),
        }
        with pytest.raises(WebhookRejected, match="body's id"):
            verify(SignedDelivery(headers, body))

    @pytest.mark.parametrize(
        ("header", "value", "message"),
        [
            ("Bayflow-Delivery", None, "one Bayflow-Delivery"),
            ("Bayflow-Signature", None, "one Bayflow-Signature"),
            ("Bayflow-Delivery", "msg.1", "not a delivery id"),
            ("Bayflow-Timestamp", "1e9", "not Unix seconds"),
            ("Bayflow-Timestamp", "-5", "not Unix seconds"),
            ("Bayflow-Timestamp", "999999999999", "not Unix seconds"),
        ],
    )
    def test_malformed_headers_are_refused(
        self, header: str, value: str | None, message: str
    ) -> None:
        delivery = sign_delivery(notification(), HUB_KEY, now=NOW)
        headers = {k: v for k, v in delivery.headers.items() if k != header}
        if value is not None:
            headers[header] = value
        with pytest.raises(WebhookRejected, match=message):
            verify(SignedDelivery(headers, delivery.body))

    def test_a_header_given_twice_is_refused(self) -> None:
        delivery = sign_delivery(notification(), HUB_KEY, now=NOW)
        headers = {**delivery.headers, "bayflow-delivery": delivery.headers["Bayflow-Delivery"]}
        with pytest.raises(WebhookRejected, match="got 2"):
            verify(SignedDelivery(headers, delivery.body))

    def test_rejections_are_verification_failures(self) -> None:
        assert issubclass(WebhookRejected, VerificationFailed)
        assert issubclass(WebhookStale, WebhookRejected)
        assert issubclass(WebhookReplayed, WebhookRejected)


class TestInMemoryReplayCache:
    """The cache forgets an id only after both its retention and the caller's minimum."""

    def test_an_id_is_forgotten_after_the_retention(self) -> None:
        cache = InMemoryReplayCache(retention=timedelta(hours=1))
        cache.remember("msg_a", now=NOW, keep_until=NOW)
        with pytest.raises(WebhookReplayed):
            cache.remember("msg_a", now=NOW + timedelta(minutes=59), keep_until=NOW)
        cache.remember("msg_a", now=NOW + timedelta(hours=1), keep_until=NOW)
        assert len(cache) == 1

    def test_keep_until_outlasts_a_short_retention(self) -> None:
        cache = InMemoryReplayCache(retention=timedelta(seconds=1))
        cache.remember("msg_a", now=NOW, keep_until=NOW + timedelta(minutes=5))
        with pytest.raises(WebhookReplayed):
            cache.remember("msg_a", now=NOW + timedelta(minutes=4), keep_until=NOW)

    def test_expired_entries_are_dropped(self) -> None:
        cache = InMemoryReplayCache(retention=timedelta(seconds=10))
        for i in range(5):
            cache.remember(f"msg_{i}", now=NOW, keep_until=NOW)
        cache.remember("msg_new", now=NOW + timedelta(seconds=11), keep_until=NOW)
        assert len(cache) == 1


class TestRetryPolicy:
    """Waits double from one second to ten minutes, with jitter, for at most a day."""

    def test_the_default_schedule(self) -> None:
        policy = RetryPolicy()
        waits = [policy.nominal_delay(n).total_seconds() for n in range(1, 14)]
        assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600, 600]

    @given(attempts=st.integers(min_value=1, max_value=10_000))
    def test_the_nominal_schedule_is_monotonic_and_capped(self, attempts: int) -> None:
        policy = RetryPolicy()
        assert policy.first_delay <= policy.nominal_delay(attempts)
        assert policy.nominal_delay(attempts) <= policy.nominal_delay(attempts + 1)
        assert policy.nominal_delay(attempts + 1) <= policy.max_delay

    @given(
        attempts=st.integers(min_value=1, max_value=500),
        first=st.floats(min_value=0, max_value=1, exclude_max=True),
        second=st.floats(min_value=0, max_value=1, exclude_max=True),
    )
    def test_jitter_only_shortens_and_keeps_uncapped_waits_growing(
        self, attempts: int, first: float, second: float
    ) -> None:
        policy = RetryPolicy()
        nominal = policy.nominal_delay(attempts)
        wait = policy.delay(attempts, rand=first)
        assert nominal * (1 - policy.jitter) <= wait <= nominal <= policy.max_delay
        if policy.nominal_delay(attempts + 1) == 2 * nominal:
            assert policy.delay(attempts + 1, rand=second) >= wait

    @given(rand=st.floats(min_value=0, max_value=1, exclude_max=True))
    def test_a_delivery_that_always_fails_is_given_up_within_a_day(self, rand: float) -> None:
        policy = RetryPolicy()
        attempts, at = 1, NOW
        while (following := policy.next_attempt_at(
            attempts=attempts, created_at=NOW, now=at, rand=rand
        )) is not None:  # fmt: skip
            assert following > at
            attempts, at = attempts + 1, following
        assert attempts <= policy.max_attempts
        assert at <= NOW + timedelta(hours=24)
        # More than ten retries in the first quarter hour, and one at least every ten minutes.
        assert attempts > 140

    def test_without_jitter_the_attempt_limit_comes_first(self) -> None:
        policy = RetryPolicy()
        attempts, at = 1, NOW
        while (following := policy.next_attempt_at(
            attempts=attempts, created_at=NOW, now=at, rand=0.0
        )) is not None:  # fmt: skip
            attempts, at = attempts + 1, following
        assert attempts == 150
        assert at == NOW + timedelta(seconds=1023 + 600 * 139)

    def test_a_late_first_failure_is_given_up_at_the_deadline(self) -> None:
        policy = RetryPolicy()
        late = NOW + timedelta(hours=23, minutes=59, seconds=59)
        assert policy.next_attempt_at(attempts=5, created_at=NOW, now=late, rand=0.0) is None

    @pytest.mark.parametrize(
        "changes",
        [
            {"first_delay": timedelta(0)},
            {"first_delay": timedelta(hours=1)},
            {"jitter": 1.0},
            {"jitter": -0.1},
            {"max_attempts": 0},
        ],
    )
    def test_nonsense_settings_are_refused(self, changes: dict[str, Any]) -> None:
        with pytest.raises(ValueError, match=r"need|jitter|max_attempts"):
            RetryPolicy(**changes)

    def test_attempts_and_rand_are_checked(self) -> None:
        with pytest.raises(ValueError, match="from 1"):
            RetryPolicy().nominal_delay(0)
        with pytest.raises(ValueError, match="rand"):
            RetryPolicy().delay(1, rand=1.0)


class TestSubscriptionChecks:
    """Subscriptions name http(s) URLs without secrets and known event types."""

    @pytest.mark.parametrize(
        "url", ["https://bank.example/hooks/bayflow", "http://127.0.0.1:8123/hook"]
    )
    def test_http_and_https_urls_are_accepted(self, url: str) -> None:
        assert check_webhook_url(url) == url

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("ftp://bank.example/hook", "http or https"),
            ("/hook", "http or https"),
            ("https://user:pw@bank.example/hook", "credentials"),
            ("https://bank.example/hook#frag", "fragment"),
            ("https://bank.example:99999/hook", "not a URL"),
            ("https://bank.example:0/hook", "non-zero port"),
            ("https://bank.example/" + "a" * 2048, "at most"),
        ],
    )
    def test_other_urls_are_refused(self, url: str, message: str) -> None:
        with pytest.raises(InvalidInput, match=message):
            check_webhook_url(url)

    def test_event_types_are_parsed(self) -> None:
        assert check_event_types(["consent.revoked", "data.ready"]) == {
            EventType.CONSENT_REVOKED,
            EventType.DATA_READY,
        }
        assert check_event_types([]) == frozenset()

    def test_an_unknown_event_type_is_refused_listing_the_known_ones(self) -> None:
        with pytest.raises(InvalidInput, match=r"'consent\.granted'.*consent\.active"):
            check_event_types(["consent.granted"])
