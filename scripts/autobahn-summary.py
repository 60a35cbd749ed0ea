#!/usr/bin/env python3
"""Reads kosoku's index.json, prints a table of verdicts per group, and exits 1 unless every
case is OK (or INFORMATIONAL: behaviour the RFC leaves open). With --write FILE, also writes the
table as CONFORMANCE.md."""

import argparse
import collections
import json
import sys

GROUPS = {
    "1": "Framing (text and binary, every length form)",
    "2": "Pings and pongs",
    "3": "Reserved bits",
    "4": "Opcodes",
    "5": "Fragmentation",
    "6": "UTF-8 handling",
    "7": "Close handling",
    "9": "Limits and performance (up to 16 MiB messages)",
    "10": "Miscellaneous (auto-fragmentation)",
}
VERDICTS = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED", "other"]
PASSING = {"OK", "INFORMATIONAL"}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("index")
    parser.add_argument("--write")
    args = parser.parse_args()
    with open(args.index) as f:
        index = json.load(f)
    cases = {}
    for agent_cases in index.values():
        cases.update(agent_cases)
    if not cases:
        print("kosoku ran no case", file=sys.stderr)
        return 1

    counts = collections.defaultdict(collections.Counter)
    bad = []
    for case, result in cases.items():
        behaviour, close = result["behavior"], result["behaviorClose"]
        verdict = behaviour if behaviour in VERDICTS else "other"
        if behaviour in PASSING and close not in PASSING:
            verdict = "other"
        counts[case.split(".")[0]][verdict] += 1
        if verdict not in PASSING:
            bad.append(f"{case}: {behaviour}, close {close}")

    header = "| Group | Cases | " + " | ".join(VERDICTS) + " |"
    lines = [header, "|" + "---|" * (len(VERDICTS) + 2)]
    for group in sorted(counts, key=int):
        row = counts[group]
        name = GROUPS.get(group, "")
        cells = " | ".join(str(row[v]) for v in VERDICTS)
        lines.append(f"| {group}. {name} | {sum(row.values())} | {cells} |")
    total = collections.Counter()
    for row in counts.values():
        total.update(row)
    lines.append(
        f"| All | {sum(total.values())} | "
        + " | ".join(str(total[v]) for v in VERDICTS)
        + " |"
    )
    table = "\n".join(lines)
    print(table)
    for line in bad:
        print("not OK:", line, file=sys.stderr)

    if args.write and not bad:
        with open(args.write, "w") as f:
            f.write(PREAMBLE + table + "\n" + AFTERWORD)
    return 1 if bad else 0


PREAMBLE = """# WebSocket conformance

The server speaks WebSocket with its own codec (`server/src/ws/`), so it is held to the
[Autobahn TestSuite](https://github.com/crossbario/autobahn-testsuite): every case of groups 1
to 10, run by [kosoku](https://pypi.org/project/kosoku/) against the server's echo mode.

```
bash scripts/autobahn.sh            # every group; rewrites this file when all pass
bash scripts/autobahn.sh --quick    # every group but 9
```

`scripts/test.sh` (and so CI) runs every group on every run, in seconds. The echo mode is the
`autobahn-echo` binary, compiled only with the `autobahn-echo` feature (never in a release
build): the same decoder, reader, writer, ping and close code as the chat, but each message is
sent back as one frame of its kind (binary too) through the connection's own queue, with
messages and that queue allowed 16 MiB.

The last full run:

"""

AFTERWORD = """
INFORMATIONAL cases test what the RFC leaves to the implementation; they are not failures.
Here: 7.1.6 (a 256 KiB message, a close and a ping sent back to back: the echo goes out in full,
then the close) and 7.13.1-2 (close codes 5000 and 65535, answered with 1002). Groups 12 and 13 test
permessage-deflate, which the server does not negotiate (compressing each broadcast once per
client would undo its one-encode fan-out), so they do not apply.

What the codec does, case by case, and where it is tested besides Autobahn
(`server/src/ws/mod.rs` unit tests):

- Client frames must be masked; RSV bits must be clear; reserved opcodes, fragmented control
  frames and control frames over 125 bytes close with 1002.
- A close frame's code must be one a peer may send (1000-1003, 1007-1014, 3000-4999), else 1002;
  its reason must be UTF-8, else 1007.
- The size of a message is checked from each frame's header, across fragments: a message over
  the limit closes with 1009 before its payload is read.
- Text is checked as UTF-8 as it arrives, fragment by fragment and within a frame that has only
  partly arrived: 1007 at the first invalid byte (6.4.x), not when the message ends.
- Every ping gets its pong, in order; at most 16 wait at once, the oldest dropped beyond (2.10).
- When a connection ends on a protocol error or the client's close, what was already queued for
  the client (answers to its earlier frames) goes out before the close frame (3.2, 4.x, 5.15).
"""

if __name__ == "__main__":
    sys.exit(main())
