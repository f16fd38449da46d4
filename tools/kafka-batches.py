"""Lists the record batches of a topic as a broker stores them: offsets, producer id and epoch, whether
transactional, and commit (1) or abort (0) markers — what a read_committed reader's view is decided by.

    kafka-batches.py HOST:PORT TOPIC PARTITIONS [FROM_OFFSET]

Reads read_uncommitted (through the transaction shim too: it passes such fetches on unchanged), up to 64 MiB per
partition. For looking into what an exactly-once test or soak left on a Tansu kept running
(`DATAFLOW_TEST_KEEP_BROKERS=1`, or a broker started by hand).
"""
import asyncio
import importlib.util
import os
import struct
import sys

spec = importlib.util.spec_from_file_location("shim", os.path.join(os.path.dirname(__file__), "transaction-shim.py"))
shim = importlib.util.module_from_spec(spec)
spec.loader.exec_module(shim)


async def main(address, topic, partitions, start):
    host, port = address.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    for partition in range(partitions):
        request = (struct.pack(">hhi", shim.FETCH, 4, partition + 1) + shim.string("kafka-batches")
                   + struct.pack(">iiiib", -1, 100, 1, 64 << 20, 0)
                   + struct.pack(">i", 1) + shim.string(topic) + struct.pack(">i", 1)
                   + struct.pack(">iqi", partition, start, 64 << 20))
        writer.write(struct.pack(">i", len(request)) + request)
        await writer.drain()
        size, = struct.unpack(">i", await reader.readexactly(4))
        r = shim.Reader(await reader.readexactly(size), 4)
        r.take(">i")  # throttle
        if r.take(">i") == 0:
            print(f"partition {partition}: nothing")
            continue
        r.string()
        r.take(">i")
        _, error, high, stable = r.take(">ihqq")
        for _ in range(max(r.take(">i"), 0)):
            r.take(">qq")
        print(f"partition {partition}: error {error}, high watermark {high}, last stable offset {stable}")
        for _, _, base, last, pid, epoch, transactional, control in shim.batches(r.bytes() or b""):
            kind = {None: "data", 0: "ABORT marker", 1: "COMMIT marker"}.get(control, f"control {control}")
            print(f"  {base}-{last}  producer {pid} epoch {epoch}  {'transactional ' if transactional else ''}{kind}")
    writer.close()


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) == 5 else 0))
