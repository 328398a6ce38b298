#!/usr/bin/env python3
"""Makes tests/reference/elementwise.csv: correctly rounded float64 results of FunDiff's
elementwise float primitives over a sweep of inputs, the reference AccuracyTests checks every
kernel against (the test reads the table and never needs Python).

Usage:  python3 tests/reference/make_elementwise_table.py > tests/reference/elementwise.csv
Needs:  mpmath (tested with 1.3.0). Deterministic: a fixed seed, so rerunning gives the same file.

Format: a header line, then one line per case, comma separated:
    op,x,y,expected
  op        the primitive's name as FunDiff calls it ("tanh", "pow_const", "atan2", ...)
  x, y      the operands as the 16 hex digits of their IEEE-754 binary64 bit pattern; unary ops
            have y = "" except pow_const, where y is the constant exponent; atan2's operands
            are (y, x) in that order, as Tensor.atan2 y x takes them
  expected  the correctly rounded (round to nearest, ties to even) binary64 result, 16 hex
            digits; NaN is written 7ff8000000000000 (any NaN matches)

How the expected values are made: each exact value is computed with mpmath at a working
precision of 300 + (binary exponent of the operands) bits and again at twice that, both are
rounded to binary64 by `round_to_double` (exact integer arithmetic, including the gradual
underflow to subnormals and overflow to infinity), and the script stops if the two disagree.
Non-finite or zero operands, and operands outside a function's domain, get the IEEE-754 /
C99 Annex F results (written out in `special`), signed zeros included: an odd function maps
-0 to -0, a nonzero exact value that rounds to zero keeps its sign.
"""
import math
import random
import struct
import sys

import mpmath
from mpmath import mp, mpf

INF = float("inf")
NAN = float("nan")


def bits(v):
    return "%016x" % struct.unpack("<Q", struct.pack("<d", v))[0]


def round_to_double(v):
    """The binary64 nearest the mpf `v` (ties to even), with subnormals and overflow."""
    if v == 0:
        return 0.0
    sign = -1.0 if v < 0 else 1.0
    a = abs(v)
    m, e = mpmath.frexp(a)  # a = m * 2**e, 0.5 <= m < 1
    e = int(e)
    # the quantum of the binary64 binade holding a (clamped at the subnormal quantum 2^-1074)
    q = max(e - 53, -1074)
    scaled = a * mpf(2) ** (-q)  # exact: a power-of-two scaling
    n = int(mpmath.floor(scaled))
    frac = scaled - n
    if frac > 0.5 or (frac == 0.5 and n % 2 == 1):
        n += 1
    if n == 0:
        return sign * 0.0
    if n.bit_length() + q > 1024:
        return sign * INF
    return sign * math.ldexp(n, q)


def logistic(x):
    return 1 / (1 + mpmath.exp(-x))


# name -> (mpmath function of the operands, arity)
FUNCS = {
    "sin": mpmath.sin,
    "cos": mpmath.cos,
    "tan": mpmath.tan,
    "asin": mpmath.asin,
    "acos": mpmath.acos,
    "atan": mpmath.atan,
    "sinh": mpmath.sinh,
    "cosh": mpmath.cosh,
    "tanh": mpmath.tanh,
    "exp": mpmath.exp,
    "expm1": mpmath.expm1,
    "log": mpmath.log,
    "log1p": mpmath.log1p,
    "sqrt": mpmath.sqrt,
    "logistic": logistic,
    "softplus": lambda x: mpmath.log1p(mpmath.exp(x)),
    "erf": mpmath.erf,
    "pow_const": lambda x, c: mpmath.power(x, c),
    "pow": lambda x, y: mpmath.power(x, y),
    "atan2": lambda y, x: mpmath.atan2(y, x),
}

ODD_AT_ZERO = {"sin", "tan", "asin", "atan", "sinh", "tanh", "expm1", "log1p", "sqrt", "erf"}


def special(op, x, y):
    """The IEEE/C99 result where an operand is non-finite or zero or outside the domain, else None."""
    if op in ("pow", "pow_const"):
        # Python's ** on floats follows C99 pow for all these cases except that it raises
        try:
            if math.isnan(x) or math.isnan(y) or math.isinf(x) or math.isinf(y) or x == 0 or y == 0:
                return math.pow(x, y)
            if x < 0 and y != math.floor(y):
                return NAN
        except (OverflowError, ZeroDivisionError, ValueError):
            if x == 0 and y < 0:
                odd = y == math.floor(y) and math.fmod(y, 2) != 0
                return math.copysign(INF, x) if odd else INF
            raise
        return None
    if op == "atan2":
        if math.isnan(x) or math.isnan(y) or math.isinf(x) or math.isinf(y) or x == 0 or y == 0:
            return math.atan2(x, y)  # here x is atan2's first operand (y in the formula)
        return None
    if math.isnan(x):
        return NAN
    if x == 0:
        if op in ODD_AT_ZERO:
            return x
        if op == "log":
            return -INF
        if op in ("cos", "cosh", "exp"):
            return 1.0
        if op == "logistic":
            return 0.5
        return None  # acos(0) = pi/2 from mpmath
    if math.isinf(x):
        pos = x > 0
        return {
            "sin": NAN, "cos": NAN, "tan": NAN, "asin": NAN, "acos": NAN,
            "atan": math.copysign(math.pi / 2, x),
            "sinh": x, "cosh": INF, "tanh": math.copysign(1.0, x),
            "exp": INF if pos else 0.0, "expm1": INF if pos else -1.0,
            "log": INF if pos else NAN, "log1p": INF if pos else NAN,
            "sqrt": INF if pos else NAN, "logistic": 1.0 if pos else 0.0,
            "softplus": INF if pos else 0.0,
            "erf": math.copysign(1.0, x),
        }[op]
    if op in ("log", "sqrt") and x < 0:
        return NAN
    if op == "log1p" and x <= -1:
        return -INF if x == -1 else NAN
    if op in ("asin", "acos") and abs(x) > 1:
        return NAN
    return None


def exact(op, x, y, prec):
    mp.prec = prec
    f = FUNCS[op]
    args = (mpf(x),) if y is None else (mpf(x), mpf(y))
    return f(*args)


def reference(op, x, y):
    s = special(op, x, y)
    if s is not None:
        return s
    mags = [abs(math.frexp(v)[1]) for v in (x, y) if v is not None]
    p = 300 + max(mags)
    if op in ("pow", "pow_const") and y is not None:
        p += abs(math.frexp(y)[1]) + 64
    a = round_to_double(exact(op, x, y, p))
    b = round_to_double(exact(op, x, y, 2 * p))
    if bits(a) != bits(b):
        sys.exit("%s(%r, %r): %r at %d bits but %r at %d bits" % (op, x, y, a, p, b, 2 * p))
    return a


# ---- the sweep --------------------------------------------------------------------------------

TINY = [5e-324, 1e-320, 1e-310, 2.2250738585072014e-308, 2.2250738585072009e-308, 1e-300,
        1e-200, 1e-100, 1e-30, 1e-20, 1e-17, 1.1102230246251565e-16, 2.220446049250313e-16,
        1e-15, 1e-12, 1e-10, 1e-8, 1e-6, 1e-5, 1e-4, 1e-3, 0.01]
MODERATE = [0.1, 0.2, 0.25, 0.3, 0.34657359027997264, 0.4, 0.5, 0.55, 0.6, 0.6931471805599453,
            0.75, 0.9, 0.99, 1.0, 1.0000000000000002, 1.25, 1.5, 2.0, 3.0, math.pi / 2, math.pi,
            5.0, 10.0, 18.0, 19.0, 20.0, 22.0, 30.0, 37.0, 40.0, 50.0, 100.0]
LARGE = [700.0, 708.39, 709.78, 709.782712893384, 709.7827128933841, 710.0, 710.4758600739439,
         710.476, 744.44, 745.13, 745.2, 800.0, 1e4, 1e6, 1e10, 1e15, 1e16, 1e22, 1e100, 1e200,
         1e300, 1.7976931348623157e308]
EDGES = {
    "log": [1.0 - 1.1102230246251565e-16, 1.0 + 2.220446049250313e-16, 0.5, 2.0, 0.999, 1.001],
    "log1p": [-1.0, -0.9999999999999999, -0.999999, -0.5, -0.3, -1e-300, -2.0, -1.5],
    "asin": [0.9999999999999999, -0.9999999999999999, 0.999999, 1.0000000000000002, 0.5, -0.5],
    "acos": [0.9999999999999999, -0.9999999999999999, 0.999999, -0.999999, 1.0000000000000002],
    "exp": [-708.3964185322641, -708.4, -709.0, -740.0, -744.44007192138122, -745.1332191019411],
    "expm1": [-36.04365338911715, -37.5, -38.0, 709.782712893384, 1e-300],
    "tanh": [19.061547465398498, 19.0615474653985, 0.54930614433405489, 0.625, 0.5493],
    "sinh": [710.4758600739439, 710.475860073944, 0.5, 0.25],
    "cosh": [710.4758600739439, 710.475860073944],
    "logistic": [36.7368005696771, 37.0, 709.0, 710.0, 744.0, 745.0, 746.0],
    "softplus": [36.7368005696771, 37.0, 40.0, 708.4, 744.44, 745.13, 745.2, 0.6931471805599453],
    "erf": [5.9215871957945083, 6.0, 2.0, 0.84375, 1.25, 2.857142857142857],
    "tan": [math.pi / 4, 1.5707963267948966, 1.5707963267948963, 3 * math.pi / 4],
    "sin": [math.pi, 2 * math.pi, 6.283185307179586, 1e22, 8.98846567431158e307],
    "cos": [math.pi / 2, 3 * math.pi / 2, 1e22, 8.98846567431158e307],
}
DOMAIN = {  # where random samples go (log-uniform magnitudes in [lo, hi], both signs unless noted)
    "asin": (1e-20, 1.0), "acos": (1e-20, 1.0), "log": (1e-300, 1e300),
    "sqrt": (1e-300, 1e300), "log1p": (1e-20, 1e6), "exp": (1e-20, 709.0),
    "expm1": (1e-20, 709.0), "sinh": (1e-20, 710.0), "cosh": (1e-20, 710.0),
    "sin": (1e-20, 1e6), "cos": (1e-20, 1e6), "tan": (1e-20, 1e6),
}
POSITIVE_ONLY = {"log", "sqrt"}
UNARY = ["sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "exp", "expm1",
         "log", "log1p", "sqrt", "logistic", "softplus", "erf"]
POW_CONSTS = [2.0, 3.0, 0.5, -1.0, 1.5, -2.5, 0.0, 1.0]


def sweep(rng, op):
    base = [0.0, -0.0, INF, -INF, NAN]
    for v in TINY + MODERATE + LARGE + EDGES.get(op, []):
        base += [v, -v]
    lo, hi = DOMAIN.get(op, (1e-20, 1e3))
    for _ in range(160):  # log-uniform magnitudes
        m = math.exp(rng.uniform(math.log(lo), math.log(hi)))
        base.append(m if op in POSITIVE_ONLY or rng.random() < 0.5 else -m)
    for _ in range(80):  # uniform near the origin, where the vectorized kernels change formula
        base.append(rng.uniform(-2.0, 2.0) if op not in POSITIVE_ONLY else rng.uniform(0.0, 2.0))
    return base


def main():
    rng = random.Random(12)
    out = sys.stdout
    out.write("op,x,y,expected\n")
    for op in UNARY:
        for x in sweep(rng, op):
            out.write("%s,%s,,%s\n" % (op, bits(x), bits(reference(op, x, None))))
    for c in POW_CONSTS:
        for x in sweep(rng, "pow_const")[:: 2 if c not in (2.0, 3.0, 0.5) else 1]:
            out.write("pow_const,%s,%s,%s\n" % (bits(x), bits(c), bits(reference("pow_const", x, c))))
    pairs = []
    specials = [0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, 3.0, INF, -INF, NAN, 1e-300, 1e300]
    for a in specials:
        for b in specials:
            pairs.append((a, b))
    for _ in range(200):
        a = math.exp(rng.uniform(math.log(1e-10), math.log(1e10)))
        b = rng.uniform(-30.0, 30.0)
        pairs.append((a, b))
        pairs.append((-a, float(round(b))))
    for a, b in pairs:
        out.write("pow,%s,%s,%s\n" % (bits(a), bits(b), bits(reference("pow", a, b))))
    pairs = [(a, b) for a in specials for b in specials]
    for _ in range(300):
        pairs.append((rng.uniform(-5, 5) * 10 ** rng.randint(-20, 20), rng.uniform(-5, 5) * 10 ** rng.randint(-20, 20)))
    for a, b in pairs:
        out.write("atan2,%s,%s,%s\n" % (bits(a), bits(b), bits(reference("atan2", a, b))))


if __name__ == "__main__":
    main()
