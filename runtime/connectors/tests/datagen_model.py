#!/usr/bin/python3
"""An independent model of Weir's datagen source (docs/connectors.md), used by tests to compute
the rows a job must see. Run as a script it prints rows as JSON lines:

    datagen_model.py SCHEMA_JSON OPTIONS_JSON FIRST COUNT
"""
import json
import sys

M64 = (1 << 64) - 1
HEX = "0123456789abcdef"
INT_RANGES = {"TINYINT": (-128, 127), "SMALLINT": (-32768, 32767),
              "INT": (-2**31, 2**31 - 1), "INTEGER": (-2**31, 2**31 - 1),
              "BIGINT": (-2**63, 2**63 - 1)}


def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def rnd(seed, f, salt, i):
    return mix64((seed * 0x9E3779B97F4A7C15 + (f * 1024 + salt) * 0xD1B54A32D192ED03 + i) & M64)


def unit(r):
    return (r >> 11) * 2.0 ** -53


def signed(x):
    return x - (1 << 64) if x >> 63 else x


class Datagen:
    def __init__(self, schema, options):
        self.seed = int(options.get("seed", "0")) & M64
        self.fields = []
        for pos, col in enumerate(schema):
            name, typ = col["name"], col["type"].upper().split("(")[0].split()[0]
            o = {k[len("fields.") + len(name) + 1:]: v for k, v in options.items()
                 if k.startswith(f"fields.{name}.")}
            self.fields.append((pos, name, typ, o))

    def value(self, pos, typ, o, i):
        rate = float(o.get("null-rate", "0"))
        if rate > 0 and unit(rnd(self.seed, pos, 1, i)) < rate:
            return None
        if o.get("kind", "random") == "sequence":
            v = int(o["start"]) + i
            return str(v) if typ in ("STRING", "VARCHAR", "CHAR") else v
        r = rnd(self.seed, pos, 0, i)
        if typ in INT_RANGES:
            lo, hi = INT_RANGES[typ]
            lo, hi = int(o.get("min", lo)), int(o.get("max", hi))
            span = (hi - lo + 1) & M64
            return signed((lo + (r % span if span else r)) & M64)
        if typ == "BOOLEAN":
            return bool(r & 1)
        if typ in ("DOUBLE", "FLOAT"):
            lo, hi = float(o.get("min", "2.2250738585072014e-308")), float(o.get("max", "1.7976931348623157e308"))
            return lo + unit(r) * (hi - lo)
        if typ in ("STRING", "VARCHAR", "CHAR", "BYTES"):
            n = int(o.get("length", "100"))
            if o.get("var-len", "false").lower() == "true" and n > 0:
                n = 1 + rnd(self.seed, pos, 2, i) % n
            out = []
            for j in range(0, n, 16):
                x = rnd(self.seed, pos, 3 + j // 16, i)
                for k in range(min(16, n - j)):
                    out.append(HEX[(x >> (4 * k)) & 15])
            return "".join(out)
        raise ValueError(f"datagen_model: type {typ} not modelled")

    def row(self, i):
        return {name: self.value(pos, typ, o, i) for pos, name, typ, o in self.fields}


if __name__ == "__main__":
    schema, options = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    g = Datagen(schema, options)
    first, count = int(sys.argv[3]), int(sys.argv[4])
    for i in range(first, first + count):
        print(json.dumps(g.row(i)))
