/// Human-readable times, sizes and ratios for the reports.
module FunDiff.Bench.Units

open System.Globalization

let private inv = CultureInfo.InvariantCulture

/// Three significant figures, invariant culture.
let sig3 (v: float) =
    let a = abs v

    if a >= 100.0 then v.ToString("F0", inv)
    elif a >= 10.0 then v.ToString("F1", inv)
    elif a >= 1.0 then v.ToString("F2", inv)
    else v.ToString("G3", inv)

/// A duration in seconds, in ns, µs, ms or s.
let time (seconds: float) =
    if seconds < 1e-6 then sig3 (seconds * 1e9) + " ns"
    elif seconds < 1e-3 then sig3 (seconds * 1e6) + " µs"
    elif seconds < 1.0 then sig3 (seconds * 1e3) + " ms"
    else sig3 seconds + " s"

/// A number of bytes, in B, KiB or MiB.
let bytes (b: float) =
    if b < 0.5 then "0 B"
    elif b < 1024.0 then sig3 b + " B"
    elif b < 1024.0 * 1024.0 then sig3 (b / 1024.0) + " KiB"
    else sig3 (b / (1024.0 * 1024.0)) + " MiB"

/// A ratio, `3.21×`.
let ratio (r: float) = sig3 r + "×"

/// A fraction as a percentage, `4.2 %`.
let percent (f: float) = sig3 (100.0 * f) + " %"
