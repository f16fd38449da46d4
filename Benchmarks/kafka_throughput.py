"""Kafka client throughput: StreamKit's Swift client beside librdkafka's rdkafka_performance (built from the
same librdkafka source), on the same local broker, in the same run.

Each round runs the C producer and the Swift producer (1M x 100-byte values by default, each into a fresh
topic), then the C consumer and the Swift consumer over the same C-produced topic; the order alternates
between rounds. Both sides get identical librdkafka settings. Reported: median msgs/s and MB/s per client,
and Swift/C ratios of the medians.
"""
import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PERF = os.path.join(ROOT, ".deps", "bin", "rdkafka_performance")
PRODUCER_PROPS = {
    "enable.idempotence": "true",
    "compression.codec": "lz4",
    "linger.ms": "5",
    "acks": "all",
    "partitioner": "murmur2_random",
    "socket.nagle.disable": "true",
}
CONSUMER_PROPS = {
    "queued.min.messages": "1000000",
    "auto.offset.reset": "earliest",
    "socket.nagle.disable": "true",
}


CPU = []  # CPU seconds (user + sys) of the last client process run by sh()


def sh(args, **kw):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return out


def c_produce(addr, topic, count, size):
    args = [PERF, "-P", "-t", topic, "-b", addr, "-s", str(size), "-c", str(count), "-q"]
    for k, v in PRODUCER_PROPS.items():
        args += ["-X", f"{k}={v}"]
    out = sh(args)
    m = re.search(r"in (\d+)ms: (\d+) msgs/s and ([\d.]+) MB/s", out)
    if not m or "0 failed" not in out:
        sys.exit(f"rdkafka_performance producer failed:\n{out}")
    return float(m.group(2)), float(m.group(3)), CPU[-1]


def c_consume(addr, topic, count, group):
    args = [PERF, "-C", "-G", group, "-t", topic, "-b", addr, "-c", str(count), "-q"]
    for k, v in CONSUMER_PROPS.items():
        args += ["-X", f"{k}={v}"]
    out = sh(args, timeout=300)
    m = re.search(r"(\d+) messages \(\d+ bytes\) consumed in \d+ms: (\d+) msgs/s \(([\d.]+) MB/s\)", out)
    if not m or int(m.group(1)) < count:
        sys.exit(f"rdkafka_performance consumer failed:\n{out}")
    return float(m.group(2)), float(m.group(3)), CPU[-1]


def swift(binary, mode, addr, topic, count, size, props, partitions):
    args = [os.path.join(binary, "kafka-throughput"), mode, "--bootstrap", addr, "--topic", topic, "--count", str(count)]
    args += ["--size", str(size)] if mode == "produce" else ["--partitions", str(partitions)]
    for k, v in props.items():
        args += ["--property", f"{k}={v}"]
    line = json.loads(sh(args, timeout=300).strip().splitlines()[-1])
    return line["msgs_per_sec"], line["mb_per_sec"], CPU[-1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--broker", choices=["mock", "tansu"], default="mock")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--partitions", type=int, default=4)
    opts = parser.parse_args()

    name = "bench"
    topics = [f"bench-{who}-{r}" for r in range(opts.rounds) for who in ("c", "swift")]
    start = [os.path.join(ROOT, "scripts", "broker"), "start", "--kind", opts.broker, "--name", name]
    if opts.broker == "mock":
        for t in topics:
            start += ["--topic", f"{t}:{opts.partitions}"]
    subprocess.run([os.path.join(ROOT, "scripts", "broker"), "stop", "--name", name], capture_output=True)
    print(sh(start).strip())
    addr = open(os.path.join(ROOT, ".run", f"{name}.addr")).read().strip()
    results = {("produce", "c"): [], ("produce", "swift"): [], ("consume", "c"): [], ("consume", "swift"): []}
    try:
        for r in range(opts.rounds):
            order = ["c", "swift"] if r % 2 == 0 else ["swift", "c"]
            for who in order:
                topic = f"bench-{who}-{r}"
                if who == "c":
                    results[("produce", "c")].append(c_produce(addr, topic, opts.count, opts.size))
                else:
                    results[("produce", "swift")].append(
                        swift(opts.bin, "produce", addr, topic, opts.count, opts.size, PRODUCER_PROPS, opts.partitions))
            for who in order:
                topic = f"bench-c-{r}"
                if who == "c":
                    results[("consume", "c")].append(c_consume(addr, topic, opts.count, f"bench-g-{r}"))
                else:
                    results[("consume", "swift")].append(
                        swift(opts.bin, "consume", addr, topic, opts.count, opts.size, CONSUMER_PROPS, opts.partitions))
            print(f"round {r + 1}/{opts.rounds}: " + ", ".join(
                f"{mode} {who} {results[(mode, who)][-1][0]:,.0f} msg/s" for mode in ("produce", "consume") for who in ("c", "swift")))
    finally:
        subprocess.run([os.path.join(ROOT, "scripts", "broker"), "stop", "--name", name], capture_output=True)

    print()
    print(f"Kafka client throughput, {opts.count:,} x {opts.size}-byte messages, {opts.broker} broker, "
          f"{opts.rounds} rounds (median; min-max)")
    print("Throughput ratio = Swift msgs/s / C msgs/s; CPU ratio = C CPU per message / Swift CPU per message "
          "(client process user+sys, process start included); both of medians, higher is better for Swift.")
    print(f"{'mode':<9}{'client':<8}{'msgs/s':>12}{'MB/s':>9}   {'range msgs/s':<24}{'CPU ns/msg':>11}"
          f"{'thr. ratio':>12}{'CPU ratio':>11}")
    summary = {}
    for mode in ("produce", "consume"):
        c_med = statistics.median(x[0] for x in results[(mode, "c")])
        c_cpu = statistics.median(x[2] for x in results[(mode, "c")]) / opts.count * 1e9
        for who in ("c", "swift"):
            rates = [x[0] for x in results[(mode, who)]]
            med = statistics.median(rates)
            mb = statistics.median(x[1] for x in results[(mode, who)])
            cpu = statistics.median(x[2] for x in results[(mode, who)]) / opts.count * 1e9
            ratio = med / c_med
            cpu_ratio = c_cpu / cpu
            summary[f"{mode}_{who}_msgs_per_sec"] = med
            summary[f"{mode}_{who}_cpu_ns_per_msg"] = cpu
            extra = ""
            if who == "swift":
                summary[f"{mode}_ratio"] = ratio
                summary[f"{mode}_cpu_ratio"] = cpu_ratio
                extra = f"{ratio:>12.2f}{cpu_ratio:>11.2f}"
            print(f"{mode:<9}{who:<8}{med:>12,.0f}{mb:>9.1f}   {min(rates):>10,.0f}-{max(rates):<12,.0f}{cpu:>11,.0f}{extra}")
    # The machine's speed drifts between rounds (other tenants, the broker's threads); C and Swift run back to
    # back within a round, so the ratio of each round compares like with like.
    print()
    for mode in ("produce", "consume"):
        paired = [s[0] / c[0] for s, c in zip(results[(mode, "swift")], results[(mode, "c")])]
        summary[f"{mode}_paired_ratio"] = statistics.median(paired)
        print(f"{mode}: Swift/C ratio of each round {', '.join(f'{r:.2f}' for r in paired)}; "
              f"median {statistics.median(paired):.2f}")
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
