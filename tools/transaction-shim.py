"""A Kafka protocol shim in front of Tansu that does the three things of transactions Tansu leaves out.

    transaction-shim.py LISTEN_PORT TANSU_PORT

Clients connect to LISTEN_PORT (Tansu advertises it, so every connection comes here) and everything is passed
through, except:

1. read_committed fetches are answered by the transaction markers, as Kafka answers them. Tansu's last stable
   offset waits for every transaction that overlaps an ended one to end too, so a transaction can stay
   invisible long after its commit marker was written. So the shim fetches read_uncommitted from Tansu, passes
   the records up to the first transaction whose marker is not in the response (looked up ahead when that
   transaction starts the response; a transaction still open then holds the answer back for up to 50 ms, as a
   broker holds a fetch), lists the aborted transactions among them, and sets the last stable offset where it
   cut. A producer fenced by a later InitProducerId of its transactional id gets PRODUCER_FENCED for its EndTxn
   and TxnOffsetCommit (Tansu closes the connection over a stale EndTxn, and the client retries until it times
   out).
2. Transactional offset commits of a consumer group member from an earlier generation are refused with
   ILLEGAL_GENERATION, as Kafka does (KIP-447): Tansu accepts them, so a member that was paused past its session
   (a zombie) commits its transaction after its partitions moved to another member.
3. Transactional offsets never reach Tansu: the shim keeps them, and they become the group's offsets when their
   transaction commits (the shim answers offset fetches with them; a plain offset commit of the partition later
   takes over again); they are dropped when it aborts or its producer is fenced. While a transaction holding
   offsets of a partition is open, fetching the group's offset of that partition answers UNSTABLE_OFFSET_COMMIT,
   and the client asks again (KIP-447's require_stable), as Kafka does. Tansu itself applies a transaction's
   offsets only once every other transaction it overlaps with (one that wrote to a partition it wrote to) has
   ended, and then in the order of transactional ids: with several producers writing the same topics, a committed
   transaction's offsets show up late — a member taking its partitions over reads an older offset and does the
   work again — or overwrite newer ones.

To stay with protocol versions it can read, the shim caps in ApiVersions answers Fetch at v11 and JoinGroup
at v5 (the last versions before flexible encodings), OffsetCommit at v7, OffsetFetch at v7 (one group per
request), EndTxn at v1 and TxnOffsetCommit at v3 (the first with the member's generation, and the last librdkafka
sends).

Only for local tests of exactly-once against Tansu; a Kafka cluster needs none of this.
"""
import asyncio
import struct
import sys
import time
import traceback

FETCH, OFFSET_COMMIT, OFFSET_FETCH, JOIN_GROUP, API_VERSIONS = 1, 8, 9, 11, 18
INIT_PRODUCER_ID, END_TXN, TXN_OFFSET_COMMIT = 22, 26, 28
CAPS = {FETCH: 11, JOIN_GROUP: 5, OFFSET_COMMIT: 7, OFFSET_FETCH: 7, END_TXN: 1, TXN_OFFSET_COMMIT: 3}
ILLEGAL_GENERATION = 22
UNSTABLE_OFFSET_COMMIT = 88
PRODUCER_FENCED = 90
ABORT = 0

generations = {}  # consumer group -> its latest generation
# transactional id -> {group: {(topic, partition): (offset, leader epoch, metadata)}}: offsets of open transactions
pending_offsets = {}
# transactional id -> (when its first pending offsets came, its transaction timeout in seconds)
pending_since = {}
committed_offsets = {}  # group -> {(topic, partition): offset}: offsets committed by transactions, newer than Tansu's
timeouts = {}  # transactional id -> transaction timeout (seconds), from InitProducerId
expired = set()  # transactional ids whose transaction outlived its timeout: it ends aborted, its producer fenced
producers = {}  # transactional id -> (producer id, epoch) of its latest InitProducerId
transactions_ended = 0  # how many EndTxn and InitProducerId answers passed (each may end a transaction)


def fenced(transactional_id, producer_id, epoch):
    """Whether a later InitProducerId of the same transactional id fenced this producer."""
    latest = producers.get(transactional_id)
    return latest is not None and (producer_id, epoch) != latest


def forget_transaction(transactional_id):
    pending_offsets.pop(transactional_id, None)
    pending_since.pop(transactional_id, None)


def end_transaction(transactional_id, committed):
    if committed:
        for group, offsets in pending_offsets.get(transactional_id, {}).items():
            stored = committed_offsets.setdefault(group, {})
            for partition, (offset, _, _) in offsets.items():
                stored[partition] = offset
    forget_transaction(transactional_id)


def take_offset_commit(frame, version):
    """A plain offset commit (v2..v7) passing through: Tansu's offsets of its partitions are the newer now."""
    r = request_body_start(frame, flexible=False)
    group = r.string()
    r.take(">i")  # generation
    r.string()  # member id
    if version >= 7:
        r.string()  # group instance id
    if version <= 4:
        r.take(">q")  # retention time
    stored = committed_offsets.get(group, {})
    for _ in range(r.take(">i")):
        topic = r.string()
        for _ in range(r.take(">i")):
            partition = r.take(">i")
            r.take(">q")  # offset
            if version >= 6:
                r.take(">i")  # leader epoch
            r.string()  # metadata
            stored.pop((topic, partition), None)


def expire_transactions():
    """Drops the offsets of transactions open longer than their timeout, which Kafka would abort."""
    now = asyncio.get_running_loop().time()
    for transactional_id, since in list(pending_since.items()):
        if now - since > timeouts.get(transactional_id, 60):
            log(f"aborting {transactional_id}'s transaction: open longer than its timeout")
            forget_transaction(transactional_id)
            expired.add(transactional_id)


def log(*parts):
    print(time.strftime("%H:%M:%S"), "transaction-shim:", *parts, file=sys.stderr, flush=True)


class Reader:
    def __init__(self, data, pos=0):
        self.data, self.pos = data, pos

    def take(self, fmt):
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values[0] if len(values) == 1 else values

    def uvarint(self):
        shift = value = 0
        while True:
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7

    def varint(self):
        value = self.uvarint()
        return (value >> 1) ^ -(value & 1)

    def text(self, length):
        if length < 0:
            return None
        value = self.data[self.pos:self.pos + length].decode()
        self.pos += length
        return value

    def string(self):
        return self.text(self.take(">h"))

    def compact_string(self):
        return self.text(self.uvarint() - 1)

    def skip_tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.pos += self.uvarint()

    def bytes(self):
        length = self.take(">i")
        if length < 0:
            return None
        value = self.data[self.pos:self.pos + length]
        self.pos += length
        return value


def uvarint(value):
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def compact_string(value):
    data = value.encode()
    return uvarint(len(data) + 1) + data


def string(value):
    if value is None:
        return struct.pack(">h", -1)
    data = value.encode()
    return struct.pack(">h", len(data)) + data


# --- record batches -------------------------------------------------------------------------------------------

def batches(records):
    """(start, end, base_offset, last_offset, producer_id, producer_epoch, transactional, control kind or None)."""
    pos = 0
    while pos + 61 <= len(records):
        base_offset, length = struct.unpack_from(">qi", records, pos)
        end = pos + 12 + length
        if end > len(records):
            break
        attributes, = struct.unpack_from(">h", records, pos + 21)
        last_delta, = struct.unpack_from(">i", records, pos + 23)
        producer_id, producer_epoch = struct.unpack_from(">qh", records, pos + 43)
        control = None
        if attributes & 0x20:
            record = Reader(records, pos + 61)
            record.varint()  # length
            record.take(">b")  # attributes
            record.varint()  # timestamp delta
            record.varint()  # offset delta
            key_length = record.varint()
            if key_length >= 4:
                _, control = struct.unpack_from(">hh", records, record.pos)
        yield pos, end, base_offset, base_offset + last_delta, producer_id, producer_epoch, bool(attributes & 0x10), control
        pos = end


def settle(records, outcomes):
    """The records to pass on, the aborted transactions [(producer_id, first_offset)] among them, and the
    transaction (producer_id, epoch, first_offset) whose marker must be looked up ahead to say more, if any.
    `outcomes` holds markers looked up ahead: (producer_id, first_offset) -> ABORT or not."""
    open_txns = {}  # producer id -> (epoch, first offset, byte position)
    aborted = []
    for start, _, base, _, pid, epoch, transactional, control in batches(records):
        if control is not None:
            if pid in open_txns:
                data_epoch, first, _ = open_txns.pop(pid)
                # A marker of a later epoch means the producer was fenced: its earlier transaction was aborted.
                if control == ABORT or data_epoch < epoch:
                    aborted.append((pid, first))
        elif transactional and pid not in open_txns:
            open_txns[pid] = (epoch, base, start)
    if not open_txns:
        return records, aborted, None
    cut = min(position for _, _, position in open_txns.values())
    if cut > 0:
        return records[:cut], aborted, None
    # A transaction starts the response and ends beyond it: its marker is looked up ahead.
    pid, (epoch, first, _) = min(open_txns.items(), key=lambda item: item[1][2])
    if (pid, first) not in outcomes:
        return b"", aborted, (pid, epoch, first)
    if outcomes[(pid, first)] is None:
        return b"", aborted, None
    if outcomes[(pid, first)] == ABORT:
        aborted.append((pid, first))
    # Keep the records up to the next unresolved transaction of another producer.
    others = [position for other, (_, _, position) in open_txns.items() if other != pid]
    return (records[:min(others)] if others else records), aborted, None


# --- Fetch v4..v11 ----------------------------------------------------------------------------------------------

def base_offset_at(records, position):
    return struct.unpack_from(">q", records, position)[0]


async def rewrite_fetch(body, version, upstream_lookahead):
    """The answer to a read_committed fetch, from Tansu's answer to the same fetch read_uncommitted: records up to
    the first transaction not yet ended, that point as the last stable offset, the aborted transactions listed.
    Also whether it was cut to nothing by a transaction still open (so that the shim waits a little before
    answering, as a broker would, rather than have the client ask again at once)."""
    r = Reader(body)
    out = bytearray()
    if version >= 1:
        out += struct.pack(">i", r.take(">i"))  # throttle
    if version >= 7:
        out += struct.pack(">hi", *r.take(">hi"))  # error, session id
    topics = r.take(">i")
    out += struct.pack(">i", topics)
    held, delivered = False, False
    for _ in range(topics):
        topic = r.string()
        out += string(topic)
        partitions = r.take(">i")
        out += struct.pack(">i", partitions)
        for _ in range(partitions):
            partition, error, high = r.take(">ihq")
            out += struct.pack(">ihq", partition, error, high)
            stable = r.take(">q")
            log_start = r.take(">q") if version >= 5 else None
            count = r.take(">i")
            for _ in range(max(count, 0)):
                r.take(">qq")  # Tansu's list: the markers say it
            listed = []
            preferred = r.take(">i") if version >= 11 else None
            records = r.bytes()
            if error == 0:
                stable = high
            if records:
                kept, aborted, ahead = settle(records, {})
                if ahead is not None:
                    pid, epoch, first = ahead
                    outcome = await upstream_lookahead(topic, partition, pid, epoch, first)
                    kept, aborted, _ = settle(records, {(pid, first): outcome})
                if len(kept) < len(records):
                    stable = base_offset_at(records, len(kept))
                held = held or not kept
                delivered = delivered or bool(kept)
                records = kept
                listed = sorted(set(aborted), key=lambda item: item[1])
            out += struct.pack(">q", stable)
            if log_start is not None:
                out += struct.pack(">q", log_start)
            out += struct.pack(">i", len(listed))
            for pid, first in listed:
                out += struct.pack(">qq", pid, first)
            if version >= 11:
                out += struct.pack(">i", preferred)
            if records is None:
                out += struct.pack(">i", -1)
            else:
                out += struct.pack(">i", len(records)) + records
    out += body[r.pos:]
    return bytes(out), held and not delivered


class Upstream:
    """A connection of the shim's own to Tansu, to look transaction markers up ahead."""

    def __init__(self, port):
        self.port = port
        self.lock = asyncio.Lock()
        self.correlation = 0
        self.outcomes = {}  # (topic, partition, producer id, first offset) -> ABORT or 1, for ended transactions
        self.unresolved = {}  # the same key -> `transactions_ended` when it was last looked up and still open

    async def marker(self, topic, partition, pid, epoch, first):
        """How the transaction starting at `first` ended: ABORT, 1 (committed), or None while it is open. A
        transaction found open is looked up again only after some transaction ended."""
        key = (topic, partition, pid, first)
        if key in self.outcomes:
            return self.outcomes[key]
        if self.unresolved.get(key) == transactions_ended:
            return None
        ended = transactions_ended
        outcome = await self.look_up(topic, partition, pid, epoch, first)
        if outcome is None:
            self.unresolved[key] = ended
        else:
            self.unresolved.pop(key, None)
            if len(self.outcomes) > 100_000:
                self.outcomes.clear()
            self.outcomes[key] = outcome
        return outcome

    async def look_up(self, topic, partition, pid, epoch, first):
        async with self.lock:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            try:
                offset = first
                for _ in range(64):
                    self.correlation += 1
                    request = (struct.pack(">hhi", FETCH, 4, self.correlation) + string("transaction-shim")
                               + struct.pack(">iiiib", -1, 100, 1, 64 << 20, 0)
                               + struct.pack(">i", 1) + string(topic) + struct.pack(">i", 1)
                               + struct.pack(">iqi", partition, offset, 64 << 20))
                    writer.write(struct.pack(">i", len(request)) + request)
                    await writer.drain()
                    size, = struct.unpack(">i", await reader.readexactly(4))
                    frame = await reader.readexactly(size)
                    r = Reader(frame, 4)
                    r.take(">i")  # throttle
                    if r.take(">i") == 0:  # topics: none when nothing came within the wait
                        return None
                    r.string()
                    r.take(">i")  # partitions
                    r.take(">ihqq")
                    count = r.take(">i")
                    for _ in range(max(count, 0)):
                        r.take(">qq")
                    records = r.bytes() or b""
                    moved = False
                    for _, _, _, last, batch_pid, batch_epoch, _, control in batches(records):
                        if last >= offset:
                            moved = True
                            offset = last + 1
                        if batch_pid == pid and control is not None:
                            return ABORT if control == ABORT or batch_epoch > epoch else 1
                    if not moved:
                        return None
                return None
            finally:
                writer.close()


# --- ApiVersions, JoinGroup, TxnOffsetCommit -------------------------------------------------------------------

def cap_versions(body, version):
    data = bytearray(body)
    r = Reader(data)
    r.take(">h")  # error
    count = r.uvarint() - 1 if version >= 3 else r.take(">i")
    for _ in range(count):
        key, _, maximum = struct.unpack_from(">hhh", data, r.pos)
        if key in CAPS and maximum > CAPS[key]:
            struct.pack_into(">h", data, r.pos + 4, CAPS[key])
        r.pos += 6
        if version >= 3:
            r.skip_tags()
    return bytes(data)


def request_body_start(frame, flexible):
    r = Reader(frame, 8)
    r.string()  # client id
    if flexible:
        r.skip_tags()
    return r


def take_txn_offset_commit(frame, correlation):
    """The answer to a TxnOffsetCommit v3 request, which never reaches Tansu: ILLEGAL_GENERATION for a member of
    an earlier generation; otherwise the offsets wait here for the end of their transaction."""
    r = request_body_start(frame, flexible=True)
    transactional_id = r.compact_string()
    group = r.compact_string()
    producer_id, epoch = r.take(">qh")
    generation = r.take(">i")
    member = r.compact_string()
    r.compact_string()  # group instance id
    topics = []
    for _ in range(r.uvarint() - 1):
        name = r.compact_string()
        partitions = []
        for _ in range(r.uvarint() - 1):
            partition = r.take(">i")
            offset, leader_epoch = r.take(">qi")
            metadata = r.compact_string()
            r.skip_tags()
            partitions.append((partition, offset, leader_epoch, metadata))
        r.skip_tags()
        topics.append((name, partitions))
    current = generations.get(group)
    error = 0
    if fenced(transactional_id, producer_id, epoch):
        log(f"refused a transactional offset commit of {transactional_id} by a fenced producer (epoch {epoch})")
        error = PRODUCER_FENCED
    elif generation >= 0 and current is not None and generation != current:
        log(f"refused a transactional offset commit of group {group} by member {member} of generation {generation} (the group is at {current})")
        error = ILLEGAL_GENERATION
    else:
        pending_since.setdefault(transactional_id, asyncio.get_running_loop().time())
        offsets = pending_offsets.setdefault(transactional_id, {}).setdefault(group, {})
        for name, partitions in topics:
            for partition, offset, leader_epoch, metadata in partitions:
                offsets[(name, partition)] = (offset, leader_epoch, metadata)

    body = bytearray(struct.pack(">i", correlation) + b"\x00" + struct.pack(">i", 0) + uvarint(len(topics) + 1))
    for name, partitions in topics:
        body += compact_string(name) + uvarint(len(partitions) + 1)
        for partition, *_ in partitions:
            body += struct.pack(">ih", partition, error) + b"\x00"
        body += b"\x00"
    body += b"\x00"
    return struct.pack(">i", len(body)) + bytes(body)


def pending_partitions(group):
    """The partitions of `group` with offsets in an open transaction."""
    expire_transactions()
    return {partition for offsets in pending_offsets.values() for partition in offsets.get(group, {})}


def settle_offset_fetch(body, version, group):
    """An OffsetFetch v1..v7 answer with the offsets committed by transactions, and UNSTABLE_OFFSET_COMMIT for the
    partitions whose offsets wait in an open transaction (the client asks again once it has ended)."""
    unstable = pending_partitions(group)
    stored = committed_offsets.get(group, {})
    if not unstable and not stored:
        return body
    data = bytearray(body)
    flexible = version >= 6
    r = Reader(data)
    if flexible:
        r.skip_tags()  # response header
    if version >= 3:
        r.take(">i")  # throttle
    topics = r.uvarint() - 1 if flexible else r.take(">i")
    for _ in range(max(topics, 0)):
        name = r.compact_string() if flexible else r.string()
        partitions = r.uvarint() - 1 if flexible else r.take(">i")
        for _ in range(max(partitions, 0)):
            partition = r.take(">i")
            if (name, partition) in stored:
                struct.pack_into(">q", data, r.pos, stored[(name, partition)])
            r.take(">q")  # offset
            if version >= 5:
                r.take(">i")  # leader epoch
            if flexible:
                r.compact_string()
            else:
                r.string()
            if (name, partition) in unstable:
                struct.pack_into(">h", data, r.pos, UNSTABLE_OFFSET_COMMIT)
            r.take(">h")
            if flexible:
                r.skip_tags()
        if flexible:
            r.skip_tags()
    return bytes(data)


# --- the proxy -------------------------------------------------------------------------------------------------

async def read_frame(reader):
    size, = struct.unpack(">i", await reader.readexactly(4))
    return await reader.readexactly(size)


async def serve_client(client_reader, client_writer, tansu_port, upstream):
    tansu_reader, tansu_writer = await asyncio.open_connection("127.0.0.1", tansu_port)
    pending = {}  # correlation id -> (api key, version, group or None)
    write_lock = asyncio.Lock()

    async def to_client(data):
        async with write_lock:
            client_writer.write(data)
            await client_writer.drain()

    async def requests():
        while True:
            frame = await read_frame(client_reader)
            key, version, correlation = struct.unpack_from(">hhi", frame, 0)
            if key == TXN_OFFSET_COMMIT and version >= 3:
                await to_client(take_txn_offset_commit(frame, correlation))
                continue
            detail = None
            if key == JOIN_GROUP and version <= 5:
                detail = request_body_start(frame, flexible=False).string()
            elif key == OFFSET_COMMIT and 2 <= version <= 7:
                take_offset_commit(frame, version)
            elif key == OFFSET_FETCH and 1 <= version <= 7:
                r = request_body_start(frame, flexible=version >= 6)
                detail = r.compact_string() if version >= 6 else r.string()
            elif key == END_TXN and version <= 1:
                r = request_body_start(frame, flexible=False)
                transactional_id = r.string()
                producer_id, epoch = r.take(">qh")
                if fenced(transactional_id, producer_id, epoch):
                    # Tansu would close the connection over it, and the client retry until its timeout.
                    await to_client(struct.pack(">ii", 10, correlation) + struct.pack(">ih", 0, PRODUCER_FENCED))
                    continue
                expire_transactions()
                if transactional_id in expired:
                    # Kafka aborted it at its timeout and fenced the producer: so does the shim, late.
                    frame = frame[:r.pos] + b"\x00" + frame[r.pos + 1:]
                detail = (transactional_id, r.take(">b") == 1)
            elif key == INIT_PRODUCER_ID:
                r = request_body_start(frame, flexible=version >= 2)
                transactional_id = r.compact_string() if version >= 2 else r.string()
                if transactional_id is not None:
                    # Starting (again) fences the transaction the id left open: Tansu aborts it, its offsets go.
                    forget_transaction(transactional_id)
                    expired.discard(transactional_id)
                    timeouts[transactional_id] = r.take(">i") / 1000
                    detail = transactional_id
            elif key == FETCH and 4 <= version <= 11:
                r = request_body_start(frame, flexible=False)
                r.take(">i")  # replica
                max_wait = r.take(">i") / 1000
                r.take(">ii")  # min bytes, max bytes
                if frame[r.pos] == 1:
                    # Fetched read_uncommitted from Tansu: the shim decides what is committed by the markers.
                    frame = frame[:r.pos] + b"\x00" + frame[r.pos + 1:]
                    detail = max_wait
            pending[correlation] = (key, version, detail)
            tansu_writer.write(struct.pack(">i", len(frame)) + frame)
            await tansu_writer.drain()

    async def responses():
        while True:
            frame = await read_frame(tansu_reader)
            correlation, = struct.unpack_from(">i", frame, 0)
            key, version, detail = pending.pop(correlation, (None, None, None))
            body = frame[4:]
            if key in (END_TXN, INIT_PRODUCER_ID):
                global transactions_ended
                transactions_ended += 1
            if key == API_VERSIONS:
                body = cap_versions(body, version)
            elif key == FETCH and 4 <= version <= 11 and detail is not None:
                body, held = await rewrite_fetch(body, version, upstream.marker)
                if held:
                    await asyncio.sleep(min(detail, 0.05))
            elif key == OFFSET_FETCH and detail is not None:
                body = settle_offset_fetch(body, version, detail)
            elif key == END_TXN and detail is not None:
                transactional_id, committed = detail
                error, = struct.unpack_from(">h", body, 4)
                if transactional_id in expired:
                    body = body[:4] + struct.pack(">h", PRODUCER_FENCED) + body[6:]
                elif error == 0:
                    end_transaction(transactional_id, committed)
            elif key == INIT_PRODUCER_ID and detail is not None:
                r = Reader(body)
                if version >= 2:
                    r.skip_tags()  # response header
                r.take(">i")  # throttle
                error, producer_id, epoch = r.take(">hqh")
                if error == 0:
                    producers[detail] = (producer_id, epoch)
            elif key == JOIN_GROUP and version <= 5 and detail is not None:
                group = detail
                r = Reader(body)
                if version >= 2:
                    r.take(">i")
                error, generation = r.take(">hi")
                if error == 0:
                    generations[group] = max(generation, generations.get(group, -1))
            frame = struct.pack(">i", correlation) + body
            await to_client(struct.pack(">i", len(frame)) + frame)

    tasks = [asyncio.ensure_future(requests()), asyncio.ensure_future(responses())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            error = task.exception()
            if error is not None and not isinstance(error, (asyncio.IncompleteReadError, ConnectionError)):
                log(f"connection ended by an error: {error!r}", "".join(traceback.format_exception(error)))
        # A client gone (killed) right after ending a transaction: what Tansu answers still counts, as a broker's
        # commit does whether or not the client hears of it; its offsets must not be lost with the connection.
        waited = 0
        while not tasks[1].done() and any(key == END_TXN for key, _, _ in pending.values()) and waited < 300:
            await asyncio.sleep(0.1)
            waited += 1
    finally:
        for task in tasks:
            task.cancel()
        for writer in (client_writer, tansu_writer):
            writer.close()


async def main(listen_port, tansu_port):
    upstream = Upstream(tansu_port)

    async def handle(reader, writer):
        try:
            await serve_client(reader, writer, tansu_port, upstream)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception as error:  # a shim that dies silently would look like a broker fault
            log(f"connection ended by an error: {error!r}")
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
