/// Prints arrays like NumPy's `str` with its default print options: `2.5`, `[1. 2. 3.]`,
/// `[[1. 2.]\n [3. 4.]]`, `[0.000e+00 1.000e+00 2.000e+00 ... 1.997e+03 1.998e+03 1.999e+03]`.
/// The layout follows `numpy/_core/arrayprint.py` (`_formatArray`, `FloatingFormat`).
module internal FunDiff.Backend.Format

open System
open System.Globalization
open FunDiff

let private inv = CultureInfo.InvariantCulture

// NumPy's default print options (`np.get_printoptions()`).

/// Arrays with more elements than this are summarised.
let private threshold = 1000
/// How many entries a summarised axis shows at each end.
let private edgeItems = 3
/// No printed line is longer than this (wrapped lines start with one space per open bracket).
let private lineWidth = 75
/// At most this many digits after the point (NumPy's floatmode `maxprec`).
let private precision = 8

// ---------------------------------------------------------------------------------------------
// Decimal digits of a float

/// A finite float written as `±d.ddd × 10^Exponent`: `Digits` has no leading or trailing zeros
/// and is empty for zero.
type private DecimalDigits =
    {
        Negative: bool
        Digits: string
        Exponent: int
    }

/// Reads what .NET's "R", "E" and "F" formats print (`-1.5E-007`, `0.0001`, `12.50`).
let private parseDecimal (s: string) =
    let negative = s.StartsWith "-"
    let s = s.TrimStart '-'

    let mantissa, exponent =
        match s.IndexOf 'E' with
        | -1 -> s, 0
        | i -> s.Substring(0, i), Int32.Parse(s.Substring(i + 1), inv)

    let point =
        match mantissa.IndexOf '.' with
        | -1 -> mantissa.Length
        | i -> i

    let all = mantissa.Replace(".", "")
    let leadingZeros = all.Length - all.TrimStart('0').Length
    let digits = all.TrimStart('0').TrimEnd('0')

    {
        Negative = negative
        Digits = digits
        Exponent =
            if digits = "" then
                0
            else
                point - leadingZeros - 1 + exponent
    }

/// The fewest digits that read back as `v` (Python's `repr`, NumPy's `unique=True`).
let private shortest (v: float) = parseDecimal (v.ToString("R", inv))

/// How many digits the decimal has after the point when written out positionally.
let private fractionLength (d: DecimalDigits) =
    max 0 (d.Digits.Length - 1 - d.Exponent)

/// The integer part (with its sign) and the fraction digits, written positionally.
let private positionalParts (d: DecimalDigits) =
    let sign = if d.Negative then "-" else ""

    if d.Exponent < 0 then
        sign + "0", String('0', -d.Exponent - 1) + d.Digits
    else
        let whole = d.Digits.PadRight(d.Exponent + 1, '0')
        sign + whole.Substring(0, d.Exponent + 1), whole.Substring(d.Exponent + 1)

/// An exponent as NumPy and Python write it: a sign and at least `minDigits` digits (`+05`).
let private exponentText (exponent: int) (minDigits: int) =
    (if exponent < 0 then "-" else "+")
    + (abs exponent).ToString(inv).PadLeft(minDigits, '0')

// ---------------------------------------------------------------------------------------------
// Scalars

/// A float scalar as Python's `repr` (and NumPy's `str` of a float64) prints it: the shortest
/// digits, positional for 1e-4 <= |v| < 1e16 (`2.5`, `3.0`), scientific otherwise (`1e-05`).
let private pythonFloat (v: float) =
    if Double.IsNaN v then
        "nan"
    elif Double.IsInfinity v then
        (if v > 0.0 then "inf" else "-inf")
    else
        let d = shortest v

        if d.Digits = "" || (d.Exponent >= -4 && d.Exponent < 16) then
            let whole, fraction = positionalParts d
            whole + "." + (if fraction = "" then "0" else fraction)
        else
            let sign = if d.Negative then "-" else ""
            let rest = d.Digits.Substring 1

            let mantissa =
                if rest = "" then
                    d.Digits
                else
                    d.Digits.Substring(0, 1) + "." + rest

            sign + mantissa + "e" + exponentText d.Exponent 2

/// Int64 values are stored as whole floats; "F0" prints them exactly (no `-0`, no exponent).
let private integer (v: float) = (v + 0.0).ToString("F0", inv)

/// A scalar prints like Python's repr of the item: `2.5`, `3.0`, `1e-05`, `7`, `True`.
let scalar (dtype: DType) (v: float) =
    match dtype with
    | Bool -> if v <> 0.0 then "True" else "False"
    | Int64 -> integer v
    | Float64 -> pythonFloat v

// ---------------------------------------------------------------------------------------------
// Array elements: one common format chosen from the printed values (NumPy's FloatingFormat)

/// NumPy switches the whole array to scientific notation when its nonzero magnitudes are huge,
/// tiny, or spread over more than three orders of magnitude.
let private needsScientific (finite: float[]) =
    let magnitudes = finite |> Array.filter (fun v -> v <> 0.0) |> Array.map abs

    magnitudes.Length > 0
    && (let largest = Array.max magnitudes
        let smallest = Array.min magnitudes
        largest >= 1e8 || smallest < 1e-4 || largest / smallest > 1e3)

/// The digits NumPy prints positionally: the shortest ones, rounded to `precision` places
/// when they need more ("F8" rounds the exact binary value, as NumPy's Dragon4 does).
let private positionalDigits (v: float) =
    let d = shortest v

    if fractionLength d <= precision then
        d
    else
        parseDecimal (v.ToString("F" + string precision, inv))

/// The digits NumPy prints in scientific notation: the shortest ones, rounded to `precision`
/// places after the first digit when they need more.
let private scientificDigits (v: float) =
    let d = shortest v

    if d.Digits.Length <= precision + 1 then
        d
    else
        parseDecimal (v.ToString("E" + string precision, inv))

/// The one layout every element of an array is written in, so that the columns line up.
type private Layout =
    /// `padLeft` characters before the point (spaces in front) and `padRight` after it (spaces
    /// behind: `1.5 ` lines up with `2.25`).
    | Positional of padLeft: int * padRight: int
    /// Every mantissa has `padLeft` characters before the point and `precision` after it
    /// (trailing zeros kept: `1.0e-05 1.5e+00`); every exponent has `exponentDigits` digits.
    | Scientific of padLeft: int * precision: int * exponentDigits: int

    /// The width of every element, which `nan` and `inf` are right-aligned to.
    member l.Width =
        match l with
        | Positional(left, right) -> left + 1 + right
        | Scientific(left, places, exponentDigits) -> left + 1 + places + 2 + exponentDigits

let private maxOr0 (xs: int[]) =
    if xs.Length = 0 then 0 else Array.max xs

/// Chooses the common layout from the finite printed values.
let private layoutOf (finite: float[]) =
    if needsScientific finite then
        let digits = finite |> Array.map scientificDigits
        let places = digits |> Array.map (fun d -> max 0 (d.Digits.Length - 1)) |> maxOr0

        let exponentDigits =
            digits
            |> Array.map (fun d -> (abs d.Exponent).ToString(inv).Length)
            |> maxOr0
            |> max 2

        let padLeft = digits |> Array.map (fun d -> if d.Negative then 2 else 1) |> maxOr0
        Scientific(padLeft, places, exponentDigits)
    else
        let parts = finite |> Array.map (positionalDigits >> positionalParts)

        Positional(
            parts |> Array.map (fst >> String.length) |> maxOr0,
            parts |> Array.map (snd >> String.length) |> maxOr0
        )

/// Widens the integer part so that `nan`, `inf` and `-inf` fit in the common width.
let private makeRoomForNonFinite (values: float[]) (layout: Layout) =
    let nonFinite = values |> Array.filter (Double.IsFinite >> not)

    if nonFinite.Length = 0 then
        layout
    else
        let longest =
            if nonFinite |> Array.exists Double.IsNegativeInfinity then
                4
            else
                3

        let extra = max 0 (longest - layout.Width)

        match layout with
        | Positional(left, right) -> Positional(left + extra, right)
        | Scientific(left, places, exponentDigits) -> Scientific(left + extra, places, exponentDigits)

/// Writes one element in the common layout.
let private formatFloat (layout: Layout) (v: float) =
    if Double.IsNaN v then
        "nan".PadLeft layout.Width
    elif Double.IsInfinity v then
        (if v > 0.0 then "inf" else "-inf").PadLeft layout.Width
    else
        match layout with
        | Positional(left, right) ->
            let whole, fraction = positionalParts (positionalDigits v)
            whole.PadLeft left + "." + fraction.PadRight right
        | Scientific(left, places, exponentDigits) ->
            let d = scientificDigits v

            let first =
                (if d.Negative then "-" else "")
                + (if d.Digits = "" then "0" else d.Digits.Substring(0, 1))

            let rest = if d.Digits = "" then "" else d.Digits.Substring 1

            first.PadLeft left
            + "."
            + rest.PadRight(places, '0')
            + "e"
            + exponentText d.Exponent exponentDigits

/// The element formatter for a dtype, fitted to the values that will be printed.
let private elementFormatter (dtype: DType) (printed: float[]) : float -> string =
    match dtype with
    | Bool -> fun v -> if v <> 0.0 then " True" else "False"
    | Int64 ->
        let width = printed |> Array.map (integer >> String.length) |> maxOr0
        fun v -> (integer v).PadLeft width
    | Float64 ->
        let layout =
            layoutOf (printed |> Array.filter Double.IsFinite)
            |> makeRoomForNonFinite printed

        formatFloat layout

// ---------------------------------------------------------------------------------------------
// Layout of the nested brackets (NumPy's _formatArray)

/// The indices printed along an axis; `None` stands for the `...` of a summarised axis.
let private shownIndices (summarise: bool) (length: int) =
    if summarise && length > 2 * edgeItems then
        Array.concat
            [
                Array.init edgeItems Some
                [| None |]
                Array.init edgeItems (fun i -> Some(length - edgeItems + i))
            ]
    else
        Array.init length Some

/// Flat positions of the printed elements; the format is chosen from these alone, as NumPy
/// does (so `arange 2000.` prints `0.000e+00 ... 1.999e+03` but `arange 1001.` positionally).
let private shownPositions (shape: int[]) (summarise: bool) =
    let strides = Shape.strides shape

    (([| 0 |]), Array.indexed shape)
    ||> Array.fold (fun offsets (axis, length) ->
        let indices = shownIndices summarise length |> Array.choose id

        [|
            for o in offsets do
                for i in indices -> o + i * strides.[axis]
        |])

/// Lays out the words of an innermost row, breaking lines so that none passes `width - 1`
/// characters (one is kept for the closing bracket). Continuation lines start with `indent`,
/// which lines them up under the first element. A line holding only the indent is never broken.
let private row (words: string[]) (indent: string) (width: int) =
    let text = Text.StringBuilder()
    let line = Text.StringBuilder(indent)
    let limit = width - 1

    for i in 0 .. words.Length - 1 do
        let word = words.[i]

        if line.Length + word.Length > limit && line.Length > indent.Length then
            text.Append(line.ToString().TrimEnd(' ')).Append('\n') |> ignore
            line.Clear().Append(indent) |> ignore

        line.Append(word) |> ignore

        if i < words.Length - 1 then
            line.Append(' ') |> ignore

    text.Append(line) |> ignore
    // the first line's indent is where the opening bracket goes
    "[" + text.ToString().Substring(indent.Length) + "]"

/// NumPy's `str` of an array.
let array (a: NDArray) =
    if a.Aval.Rank = 0 then
        scalar a.DType (a.At 0)
    elif a.Size = 0 then
        "[]" // NumPy prints an empty array of any shape this way
    else
        let shape = a.Shape
        let rank = shape.Length
        let strides = Shape.strides shape
        let summarise = a.Size > threshold

        let format =
            elementFormatter a.DType (shownPositions shape summarise |> Array.map a.At)

        // One call per axis (depth = rank). Each level indents one more space and has one
        // character less of line width, for the bracket it opens.
        let rec block (axis: int) (offset: int) (indent: string) (width: int) =
            let entries = shownIndices summarise shape.[axis]
            let at i = offset + i * strides.[axis]

            if axis = rank - 1 then
                let words =
                    entries
                    |> Array.map (Option.map (at >> a.At >> format) >> Option.defaultValue "...")

                row words indent width
            else
                let parts =
                    entries
                    |> Array.map (
                        Option.map (fun i -> block (axis + 1) (at i) (indent + " ") (width - 1))
                        >> Option.defaultValue "..."
                    )
                // sub-arrays of a rank-k block are separated by k-1 newlines
                "[" + String.Join(String('\n', rank - axis - 1) + indent, parts) + "]"

        block 0 0 " " lineWidth
