"""The durable outbox: messages are stored before they are sent, and sent at most once.

``enqueue`` stores messages as queued. The ``OutboxWorker`` claims due ones by
committing them as ``sending`` (attempts + 1) *before* a transport sees them, sends up
to ``concurrency`` at a time, and commits the outcome: sent, queued again with backoff,
or failed. A message found in ``sending`` at start-up was handed to a transport by a
server that then died: it may or may not have left, so it is marked failed for a person
to check rather than sent a second time.

Commits are batched (claims in groups, outcomes group-committed), so a burst of a
thousand messages costs tens of fsyncs, not thousands.

A message with a link holds ``TOKEN_PLACEHOLDER`` where the token goes. The claim makes
the token: the link's new hash is stored with the claim, the token itself is kept in
memory only until the transport has the message. Each attempt makes a fresh one (the
last one sent is the one that works); a message whose link was revoked before it left
(a resend replaced it, the visit was cancelled) is skipped, not sent with a dead link.
A reminder's one-tap confirm/cancel links (``action_link_ids``) get theirs the same way.

A message with a one-time code (``code_id``: a portal sign-in, an identity check) holds
``CODE_PLACEHOLDER``; the code is made as the message is handed to the transport and only
its hash kept, in memory (``tlh.services.one_time_codes``), so it works from the moment
the message leaves. An attempt that fails kills its code (the retry makes another); a
message whose code entry was replaced by a newer request, used or forgotten (a restart)
is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

import msgspec

from tlh.domain.action_links import ActionLink, LinkAction, fill_action_tokens
from tlh.domain.audience import EDITORS
from tlh.domain.links import JoinLink
from tlh.domain.messages import (
    MAX_ATTEMPTS,
    Message,
    MessageChannel,
    MessageStatus,
    carries_token,
    fill_code,
    fill_token,
    next_attempt_at,
)
from tlh.messaging.errors import PermanentError, TransientError
from tlh.messaging.transports import Transport
from tlh.services import audiences
from tlh.services.context import SYSTEM, Actor, Context
from tlh.services.events import OVERFLOW, EventBus, Subscription
from tlh.services.links import mint_token
from tlh.store.base import AuditNote, Put, note, record_key

log = logging.getLogger(__name__)

#: Published by ``enqueue``; a worker on the same ``EventBus`` wakes on it.
QUEUED_EVENT = "outbox.queued"
#: ``last_error`` of a message found mid-send after a restart.
UNKNOWN_AFTER_RESTART = "delivery unknown after a restart; check and resend"
#: ``last_error`` of a message whose link was revoked before it could be sent.
LINK_REVOKED = "not sent: its link was revoked or replaced before it could be sent"
#: ``last_error`` of a code message whose code was asked for again, used, or forgotten.
CODE_GONE = "not sent: its code was replaced by a newer request, used, or forgotten by a restart"


async def enqueue(ctx: Context, actor: Actor, messages: Sequence[Message]) -> list[Message]:
    """Store ``messages`` as queued in one commit (skipping any whose idempotency key is
    already in the outbox: those are returned as stored), audit, and wake the worker.

    The worker wakes through the ``outbox.queued`` event when ``ctx.events`` is the
    server's ``EventBus``; otherwise it finds them at its next poll.
    """
    keys = sorted({f"message-key:{m.idempotency_key}" for m in messages})
    # Looked up and stored holding the keys: the same message queued twice at once is
    # stored once.
    async with ctx.store.locked(*keys):
        out: list[Message] = []
        new: list[Message] = []
        by_key: dict[str, Message] = {}
        for message in messages:
            key = message.idempotency_key
            stored = by_key.get(key)
            if stored is None:
                found = await ctx.store.find(Message, "idempotency_key", key)
                if found and isinstance(found[0], Message):
                    stored = found[0]
                else:
                    stored = msgspec.structs.replace(message, status=MessageStatus.QUEUED)
                    new.append(stored)
                by_key[key] = stored
            out.append(stored)
        if new:
            ids = [m.id for m in new]
            await ctx.store.commit(
                [Put(m) for m in new], audit=[note(actor, "message.queue", *ids)]
            )
    if new:
        announce_queued(ctx, new)
    return out


def announce_queued(ctx: Context, messages: Sequence[Message]) -> None:
    """Wake the worker for ``messages`` just stored as queued (by ``enqueue``, or by a
    commit that stored them with the records they are about)."""
    ctx.events.publish(QUEUED_EVENT, {"ids": [m.id for m in messages]}, EDITORS)


def _event(message: Message) -> dict[str, object]:
    # Ids and states only: the address and the body stay in the outbox.
    return {
        "id": message.id,
        "kind": str(message.kind),
        "channel": str(message.channel),
        "appointment_id": message.appointment_id,
        "client_id": message.client_id,  # so a dashboard can say whose message failed
    }


class OutboxWorker:
    """Sends due messages in the background; ``start()`` then ``close()``.

    ``transports`` maps each channel to its transport; the worker owns them and closes
    them in ``close()``. ``clock`` defaults to ``ctx.clock``.
    """

    def __init__(
        self,
        ctx: Context,
        transports: Mapping[MessageChannel, Transport],
        clock: Callable[[], datetime] | None = None,
        poll_s: float = 1.0,
        *,
        concurrency: int = 8,
        send_timeout_s: float = 120.0,
    ) -> None:
        self.ctx = ctx
        self.transports = dict(transports)
        self.clock = clock or ctx.clock
        self.poll_s = poll_s
        self.concurrency = concurrency
        self.send_timeout_s = send_timeout_s
        # Claimed messages waiting for a free slot; bounded by ``_claim_limit``.
        self._ready: asyncio.Queue[Message | None] = asyncio.Queue()
        self._pending: set[str] = set()  # claimed, outcome not yet committed
        #: Tokens made at the claim, by message id, until the transport has them.
        self._tokens: dict[str, str] = {}
        #: The same for the message's confirm/cancel links, by message id and action.
        self._action_tokens: dict[str, dict[LinkAction, str]] = {}
        self._claim_limit = 4 * concurrency
        self._outcomes: list[Message] = []
        self._returned: set[str] = set()  # outcomes that only undo a claim
        #: Channels whose transport answered a retry: their backed-off messages go now.
        self._recovered: set[MessageChannel] = set()
        self._outcomes_ready = asyncio.Event()
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._slots_done = False
        self._task: asyncio.Task[None] | None = None
        self._sub: Subscription | None = None

    def wake(self) -> None:
        """Look for due messages now rather than at the next poll."""
        self._wakeup.set()

    @property
    def alive(self) -> bool:
        """Whether the sender runs (``/readyz``): started and not ended by a fault."""
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Settle messages a crash left mid-send, then start sending."""
        if self._task is not None:
            raise RuntimeError("the outbox worker is already started")
        await self.recover()
        if isinstance(self.ctx.events, EventBus):
            self._sub = self.ctx.events.subscribe(maxsize=100)
        self._task = asyncio.create_task(self._run(), name="tlh-outbox-worker")

    async def close(self, grace_s: float = 10.0) -> None:
        """Stop claiming; let sends under way finish (up to ``grace_s``), commit their
        outcomes, put claimed-but-unsent messages back in the queue, close transports.
        """
        task, self._task = self._task, None
        if task is not None:
            self._stopping = True
            self._wakeup.set()
            # asyncio.wait, not wait_for: 3.11's wait_for can swallow a cancellation.
            await asyncio.wait({task}, timeout=grace_s)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._sub is not None:
            self._sub.close()
            self._sub = None
        for transport in self.transports.values():
            try:
                async with asyncio.timeout(10.0):
                    await transport.close()
            except Exception:  # one transport's failure must not keep the others open
                log.exception("closing the %s transport failed", transport.channel)

    async def recover(self) -> list[Message]:
        """Mark messages left in ``sending`` as failed (never resent blindly)."""
        stuck = [
            m
            for m in await self.ctx.store.find(Message, "status", MessageStatus.SENDING)
            if m.id not in self._pending
        ]
        failed = [
            msgspec.structs.replace(
                m, status=MessageStatus.FAILED, last_error=UNKNOWN_AFTER_RESTART
            )
            for m in stuck
        ]
        if failed:
            await self.ctx.store.commit(
                [Put(m) for m in failed],
                audit=[note(SYSTEM, "message.fail", *(m.id for m in failed))],
            )
            for m in failed:
                self.ctx.events.publish(
                    "message.failed", _event(m), await audiences.message(self.ctx, m)
                )
        return failed

    # -- the worker's task -------------------------------------------------------------

    async def _run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            slots = [tg.create_task(self._slot()) for _ in range(self.concurrency)]
            flusher = tg.create_task(self._flush_loop())
            listener = tg.create_task(self._listen()) if self._sub is not None else None
            await self._claim_loop()
            await asyncio.gather(*slots)
            self._slots_done = True
            self._outcomes_ready.set()
            await flusher
            if listener is not None:
                listener.cancel()

    async def _listen(self) -> None:
        assert self._sub is not None
        while True:
            event = await self._sub.get()
            if event.type in (QUEUED_EVENT, OVERFLOW):
                self._wakeup.set()

    async def _claim_loop(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            try:
                claimed = await self._claim()
            except Exception:  # a store hiccup: try again at the next poll
                log.exception("claiming outbox messages failed")
                claimed = 0
            if claimed == 0 or len(self._pending) >= self._claim_limit:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_s):
                        await self._wakeup.wait()
        self._unclaim_unsent()
        for _ in range(self.concurrency):
            self._ready.put_nowait(None)

    async def _claim(self) -> int:
        room = self._claim_limit - len(self._pending)
        if room <= 0:
            return 0
        now = self.clock()
        due = sorted(
            (
                m
                for m in await self.ctx.store.find(Message, "status", MessageStatus.QUEUED)
                if (
                    m.next_attempt_at <= now
                    # The transport works again: its backed-off messages need not wait.
                    or (m.attempts > 0 and m.channel in self._recovered)
                )
            ),
            key=lambda m: (m.next_attempt_at, m.created_at, m.id),
        )[:room]
        if not due:
            return 0
        linked = sorted({m.link_id for m in due if m.link_id and carries_token(m)})
        acting = sorted({i for m in due for i in m.action_link_ids})
        held = [record_key(JoinLink, i) for i in linked]
        held += [record_key(ActionLink, i) for i in acting]
        # Each link as stored now, held: a revocation (or a use) meanwhile is never undone.
        async with self.ctx.store.locked(*held):
            claimed, skipped, minted, tokens = await self._mint(due)
            actions = await self._mint_actions(claimed)
            ops = [Put(m) for m in (*claimed, *skipped)]
            ops += [Put(link) for link in minted]
            ops += [Put(link) for link in actions]
            notes: list[AuditNote] = []
            if claimed:
                notes.append(note(SYSTEM, "message.claim", *(m.id for m in claimed)))
            if skipped:
                notes.append(note(SYSTEM, "message.skip", *(m.id for m in skipped)))
            if minted:
                notes.append(note(SYSTEM, "link.issue", *(link.id for link in minted)))
            if actions:
                notes.append(note(SYSTEM, "action_link.issue", *(link.id for link in actions)))
            # Durable before any transport sees them: a crash from here on is never a
            # resend (and a token lost with it was never sent).
            await self.ctx.store.commit(ops, audit=notes)
        self._tokens.update(tokens)
        # Skipped ones are not announced: a replaced link is expected, not a failure.
        for m in claimed:
            self._pending.add(m.id)
            self._ready.put_nowait(m)
        return len(claimed) + len(skipped)

    async def _mint(
        self, due: list[Message]
    ) -> tuple[list[Message], list[Message], list[JoinLink], dict[str, str]]:
        """The claimed messages, those skipped (their link is gone), the links with the
        hash of a new token, and the tokens by message id."""
        claimed: list[Message] = []
        skipped: list[Message] = []
        minted: list[JoinLink] = []
        tokens: dict[str, str] = {}
        for m in due:
            if m.code_id is not None and not await self.ctx.codes.pending(m.code_id):
                skipped.append(self._skipped(m, CODE_GONE))
                continue
            if m.link_id and carries_token(m):
                link = await self.ctx.store.get(JoinLink, m.link_id)
                if link is None or link.revoked_at is not None:
                    skipped.append(self._skipped(m, LINK_REVOKED))
                    continue
                tokens[m.id], digest = mint_token()
                minted.append(msgspec.structs.replace(link, token_hash=digest))
            claimed.append(
                msgspec.structs.replace(m, status=MessageStatus.SENDING, attempts=m.attempts + 1)
            )
        return claimed, skipped, minted, tokens

    @staticmethod
    def _skipped(message: Message, reason: str) -> Message:
        return msgspec.structs.replace(message, status=MessageStatus.SKIPPED, last_error=reason)

    async def _mint_actions(self, claimed: list[Message]) -> list[ActionLink]:
        """The action links of ``claimed`` with the hash of a new token each (the tokens
        kept in memory by message id). One used already keeps its hash: its page says
        it was used, and no second token is made for it."""
        minted: list[ActionLink] = []
        for m in claimed:
            for link_id in m.action_link_ids:
                link = await self.ctx.store.get(ActionLink, link_id)
                if link is None or link.used_at is not None:
                    continue
                token, digest = mint_token()
                self._action_tokens.setdefault(m.id, {})[link.action] = token
                minted.append(msgspec.structs.replace(link, token_hash=digest))
        return minted

    def _unclaim_unsent(self) -> None:
        while not self._ready.empty():
            m = self._ready.get_nowait()
            if m is not None:
                self._give_back(m)

    def _give_back(self, message: Message) -> None:
        # Never handed to a transport: back to the queue as it was (the next claim makes
        # its link a new token).
        self._tokens.pop(message.id, None)
        self._action_tokens.pop(message.id, None)
        self._returned.add(message.id)
        self._outcomes.append(
            msgspec.structs.replace(
                message, status=MessageStatus.QUEUED, attempts=message.attempts - 1
            )
        )
        self._outcomes_ready.set()

    async def _slot(self) -> None:
        while True:
            message = await self._ready.get()
            if message is None:
                return
            if self._stopping:
                self._give_back(message)
                continue
            outcome = await self._deliver(message)
            self._outcomes.append(outcome)
            self._outcomes_ready.set()

    async def _deliver(self, message: Message) -> Message:
        if message.code_id is None:
            return await self._hand_over(message, message)
        # Made now, as it goes: a code lives only while its message is with a transport
        # or delivered, and the entry it is for is looked at once more, right here.
        code = await self.ctx.codes.issue(message.code_id)
        if code is None:
            return self._skipped(message, CODE_GONE)
        sent = False
        try:
            outcome = await self._hand_over(message, fill_code(message, code))
            sent = outcome.status is MessageStatus.SENT
            return outcome
        finally:
            if not sent:  # it did not leave, or may not have (a fault, a cancelled send)
                await self.ctx.codes.void(message.code_id)

    async def _hand_over(self, message: Message, leaving: Message) -> Message:
        """Send ``leaving`` (``message`` with any code filled in): the outcome."""
        transport = self.transports.get(message.channel)
        token = self._tokens.pop(message.id, None)
        # The stored message keeps the placeholder; only the transport sees the token.
        leaving = fill_token(leaving, token) if token is not None else leaving
        actions = self._action_tokens.pop(message.id, None)
        leaving = fill_action_tokens(leaving, actions) if actions else leaving
        try:
            if transport is None:
                raise PermanentError(f"no transport is configured for {message.channel}")
            try:
                async with asyncio.timeout(self.send_timeout_s):
                    provider_id = await transport.send(leaving)
            except TimeoutError:
                raise TransientError("the transport timed out") from None
        except TransientError as exc:
            now = self.clock()
            if message.attempts >= MAX_ATTEMPTS:
                return self._failed(message, f"{exc}; gave up after {message.attempts} attempts")
            return msgspec.structs.replace(
                message,
                status=MessageStatus.QUEUED,
                next_attempt_at=next_attempt_at(message.attempts, now),
                last_error=str(exc),
            )
        except PermanentError as exc:
            return self._failed(message, str(exc))
        except Exception as exc:
            # A bug in a transport: it may have sent, so it is not retried blindly.
            log.exception("transport %s raised unexpectedly", message.channel)
            return self._failed(message, f"unexpected transport error ({type(exc).__name__})")
        return msgspec.structs.replace(
            message,
            status=MessageStatus.SENT,
            provider_id=provider_id,
            sent_at=self.clock(),
            last_error="",
        )

    @staticmethod
    def _failed(message: Message, reason: str) -> Message:
        return msgspec.structs.replace(message, status=MessageStatus.FAILED, last_error=reason)

    async def _flush_loop(self) -> None:
        while True:
            await self._outcomes_ready.wait()
            self._outcomes_ready.clear()
            batch, self._outcomes = self._outcomes, []
            if batch:
                try:
                    await self._commit_outcomes(batch)
                except Exception:
                    log.exception("recording outbox outcomes failed; retrying")
                    self._outcomes[:0] = batch
                    await asyncio.sleep(self.poll_s)
                    self._outcomes_ready.set()
                    continue
            if self._slots_done and not self._outcomes:
                return

    async def _commit_outcomes(self, batch: list[Message]) -> None:
        sent = [m for m in batch if m.status is MessageStatus.SENT]
        failed = [m for m in batch if m.status is MessageStatus.FAILED]
        skipped = [m for m in batch if m.status is MessageStatus.SKIPPED]
        retrying = [
            m for m in batch if m.status is MessageStatus.QUEUED and m.id not in self._returned
        ]
        returned = [m for m in batch if m.id in self._returned]
        notes = [
            note(SYSTEM, action, *(m.id for m in group))
            for action, group in (
                ("message.send", sent),
                ("message.fail", failed),
                ("message.skip", skipped),
                ("message.retry", retrying),
                ("message.unclaim", returned),
            )
            if group
        ]
        await self.ctx.store.commit([Put(m) for m in batch], audit=notes)
        self._pending.difference_update(m.id for m in batch)
        self._wakeup.set()  # room to claim more
        self._returned.difference_update(m.id for m in batch)
        # A retry that went through means the transport is back; a new transient failure
        # means it is not (the last outcome of a batch wins).
        retrying_ids = {m.id for m in retrying}
        for m in batch:
            if m.status is MessageStatus.SENT and m.attempts > 1:
                self._recovered.add(m.channel)
            elif m.id in retrying_ids:
                self._recovered.discard(m.channel)
        for m in sent:
            self.ctx.events.publish("message.sent", _event(m), await audiences.message(self.ctx, m))
        for m in failed:
            self.ctx.events.publish(
                "message.failed", _event(m), await audiences.message(self.ctx, m)
            )
        for m in retrying:
            self.ctx.events.publish(
                "message.retrying",
                {**_event(m), "attempts": m.attempts, "next_attempt_at": m.next_attempt_at},
                await audiences.message(self.ctx, m),
            )
