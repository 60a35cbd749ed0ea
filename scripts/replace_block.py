"""Replaces the text between `<!-- NAME:begin -->` and `<!-- NAME:end -->` in a file.

Usage: python3 scripts/replace_block.py NAME FILE TEXT
The benchmark scripts use it (bench-table.py imports it) to rewrite their own section of
BENCHMARKS.md and nothing else.
"""
import re
import sys


def replace_block(name, path, body):
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = open(path).read()
    if begin not in text or end not in text:
        sys.exit(f"{path} has no {begin} ... {end} section")
    block = begin + "\n" + body + "\n" + end
    text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    open(path, "w").write(text)


if __name__ == "__main__":
    replace_block(sys.argv[1], sys.argv[2], sys.argv[3])
