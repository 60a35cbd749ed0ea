"""Turns the JSON results of scripts/bench.sh into the table in BENCHMARKS.md."""
import datetime
import json
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from replace_block import replace_block  # noqa: E402

results, path = sys.argv[1], sys.argv[2]


def load(name):
    with open(os.path.join(results, name + ".json")) as f:
        return json.load(f)


def mib(b):
    return f"{b / 1048576:.1f} MiB"


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


rows = []
FANOUT = [
    "fanout-1000x1-2M",
    "fanout-1000x1-3M",
    "fanout-5000x10-300k",
    "fanout-5000x10-1M",
    "fanout-1000x1-3M-interval-0",
    "fanout-5000x10-300k-interval-0",
    "fanout-5000x10-300k-interval-100",
    "rooms-1000x10",
    "rooms-100x100",
    "ingest-100x2",
]


def flags(name):
    with open(os.path.join(results, name + ".flags")) as f:
        return f.read().strip()


for name in FANOUT:
    r = load(name)
    server_flags = flags(name)
    server_flags = f"`{server_flags}`" if server_flags else "defaults"
    lat = r["latency"]
    per = r.get("core_seconds_per_million")
    per = f"{per:.3f}" if per is not None else "n/a"
    rooms = r.get("rooms", 1)
    clients = f"{r['clients']} in {rooms} rooms" if rooms > 1 else f"{r['clients']}"
    rows.append(
        f"| {name} | {server_flags} | {clients} | {r['senders']} x {r['rate_per_sender']:g}/s "
        f"| {r['deliveries_per_sec'] / 1000:,.0f} k | {r['loss_percent']:.3f}% "
        f"| {lat['p50_ms']:.1f} | {lat['p99_ms']:.1f} | {lat['p999_ms']:.1f} | {lat['max_ms']:.1f} "
        f"| {per} |"
    )

slow = load("slow-1000x10")
control = load("slow-1000x10-control")
stall = slow["stalled"]
idle = load("idle-18000")
idle_history = load("idle-18000-history")
ingest = load("ingest-100x2")
stored = int(open(os.path.join(results, "ingest-stored.txt")).read().strip())
resume = load("resume-1000x10")
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
commands = open(os.path.join(results, "commands.txt")).read().strip().splitlines()
kernel = platform.release()

block = f"""Run {now} by `scripts/bench.sh` on {os.cpu_count()} cores ({cpu_model()}), Linux {kernel}.
Release builds; server pinned to core 0 (`taskset -c 0`), chat-bench to core 1; loopback;
each scenario on a freshly started server with an empty database (history on, as by default;
every rate limit and per-address limit off, since all load comes from one machine; other flags
default unless the table says otherwise).
In the rooms and ingest rows, client i is in room i mod N and each sender posts to its own room.
Latency is from the moment a message is written by its sender to the moment a receiver has read
it, in ms; every message is in the database before any receiver gets it.

| scenario | server flags | clients | senders x rate | deliveries/s | loss | p50 | p99 | p99.9 | max | server core-s per M deliveries |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(rows)}

Slow client ({slow['clients']} clients, {slow['senders']} senders x {slow['rate_per_sender']:g}/s, {stall['stalled_clients']} stops reading at {stall['stall_after_s']:g} s, 20 s window):
everyone else lost {slow['loss_percent']:.3f}% with p99 {slow['latency']['p99_ms']:.1f} ms (max {slow['latency']['max_ms']:.1f} ms);
the server closed the stalled connection {('%.1f s after it stopped reading' % stall['dropped_after_s']) if stall['dropped_after_s'] is not None else 'NOT within the run'};
server RSS grew by {mib(stall['rss_growth_bytes'] or 0)} after the stall; in the same run without a stalled client
(control), by {mib(control['stalled']['rss_growth_bytes'] or 0)} over the same window, with p99 {control['latency']['p99_ms']:.1f} ms (the budget
`--client-buffer-bytes` is 1 MiB).

Ingest: {ingest['sent_total']:,} messages sent in all (warm-up and drain included), {stored:,} in the
database afterwards ({'all of them' if stored == ingest['sent_total'] else 'MISSING ' + str(ingest['sent_total'] - stored)}).

Resume: {resume['clients']} clients in {resume['rooms']} rooms disconnect, {resume['messages_posted']:,} messages are posted
({resume['gap_per_client']} missed by each), all reconnect at once with `since`: {resume['exact']} got exactly their gap
(`recovered`, every id once, in order), {resume['wrong']} did not; all caught up **{resume['all_caught_up_s']:.2f} s** after the
first reconnect (per client p50 {resume['per_client']['p50_ms']:.0f} ms, p99 {resume['per_client']['p99_ms']:.0f} ms).

Idle: {idle['connections']} connections (each with a guest name, in rooms of 10) opened at {idle['connects_per_sec']:,.0f}/s; server RSS {mib(idle['server_rss_before_bytes'])} before,
{mib(idle['server_rss_after_bytes'])} after: **{idle['bytes_per_connection'] / 1024:.2f} KiB per connection**, so 100,000
connections would take about {mib(idle['projected_rss_100k_bytes'])} (plus kernel socket buffers, which RSS does not show).

Idle in a room with history: 60 messages of about 2 KB posted to `lobby` first, then
{idle_history['connections']} connections join it (each gets the 50 latest in `joined`) and never read: opened at
{idle_history['connects_per_sec']:,.0f}/s; server RSS {mib(idle_history['server_rss_before_bytes'])} before, {mib(idle_history['server_rss_after_bytes'])} after:
**{idle_history['bytes_per_connection'] / 1024:.2f} KiB per connection**.

Commands (PID is the server's process id; the script fills it in):

""" + "\n".join(f"- {c}" for c in commands)

replace_block("bench", path, block)
