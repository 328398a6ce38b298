/// Prints arrays like NumPy's `str`: `2.5`, `[1. 2. 3.]`, `[[1. 2.]\n [3. 4.]]`.
module FunDiff.Backend.Format

open System
open System.Globalization
open System.Text
open FunDiff

let private inv = CultureInfo.InvariantCulture

/// A float as NumPy prints it inside an array: at most 8 fractional digits, trailing zeros
/// dropped, a bare point for whole numbers (`1.`), `nan`, `inf`.
let private positional (v: float) =
    if Double.IsNaN v then
        "nan"
    elif Double.IsPositiveInfinity v then
        "inf"
    elif Double.IsNegativeInfinity v then
        "-inf"
    else
        let s = Math.Round(v, 8).ToString("0.########", inv)
        let s = if s = "-0" && not (Double.IsNegative v) then "0" else s
        if s.Contains "." then s else s + "."

let private scientific (v: float) =
    if Double.IsNaN v then
        "nan"
    elif Double.IsInfinity v then
        (if v > 0.0 then "inf" else "-inf")
    else
        v.ToString("0.########e+00", inv)

/// A scalar prints like Python's repr of a float: `2.5`, `3.0`, `1e-05`.
let scalar (dtype: DType) (v: float) =
    match dtype with
    | Bool -> if v <> 0.0 then "True" else "False"
    | Int64 -> v.ToString("0", inv)
    | Float64 ->
        if Double.IsNaN v then
            "nan"
        elif Double.IsInfinity v then
            (if v > 0.0 then "inf" else "-inf")
        elif v = Math.Floor v && abs v < 1e16 then
            v.ToString("0", inv) + ".0"
        else
            v.ToString("R", inv)

/// Formats every element of an array with a common width, as NumPy does.
let private elements (a: NDArray) =
    match a.DType with
    | Bool -> a.Data |> Array.map (fun v -> if v <> 0.0 then " True" else "False")
    | Int64 ->
        let s = a.Data |> Array.map (fun v -> v.ToString("0", inv))
        let w = s |> Array.fold (fun m x -> max m x.Length) 0
        s |> Array.map (fun x -> x.PadLeft w)
    | Float64 ->
        let finite = a.Data |> Array.filter Double.IsFinite |> Array.map abs

        let useScientific =
            finite.Length > 0
            && (Array.max finite >= 1e8
                || (finite |> Array.exists (fun v -> v <> 0.0 && v < 1e-4)))

        if useScientific then
            let s = a.Data |> Array.map scientific
            let w = s |> Array.fold (fun m x -> max m x.Length) 0
            s |> Array.map (fun x -> x.PadLeft w)
        else
            // align the points: pad integer parts on the left and fractions on the right
            let s = a.Data |> Array.map positional

            let point (x: string) =
                match x.IndexOf '.' with
                | -1 -> x.Length
                | i -> i

            let left = s |> Array.fold (fun m x -> max m (point x)) 0
            let right = s |> Array.fold (fun m x -> max m (x.Length - point x)) 0

            s
            |> Array.map (fun x -> (String(' ', left - point x) + x).PadRight(left + right))

/// NumPy's `str` of an array.
let array (a: NDArray) =
    if a.Aval.Rank = 0 then
        scalar a.DType a.Data.[0]
    else
        let items = elements a
        let shape = a.Shape
        let rank = shape.Length
        let sb = StringBuilder()
        let strides = Shape.strides shape
        // print row by row; brackets open and close where the index rolls over an axis
        let rowLength = shape.[rank - 1]
        let rows = if rowLength = 0 then 0 else a.Size / rowLength

        if a.Size = 0 then
            sb.Append(String('[', rank)).Append(String(']', rank)) |> ignore
        else
            for r in 0 .. rows - 1 do
                let flat = r * rowLength
                // how many axes start fresh at this row
                let mutable opening = 1

                for k in rank - 2 .. -1 .. 0 do
                    if flat % (strides.[k] * shape.[k]) = 0 && opening = rank - 1 - k then
                        opening <- opening + 1

                if r > 0 then
                    sb.Append(String('\n', opening)).Append(String(' ', rank - opening)) |> ignore

                sb.Append(String('[', opening)) |> ignore

                for c in 0 .. rowLength - 1 do
                    if c > 0 then
                        sb.Append(' ') |> ignore

                    sb.Append(items.[flat + c]) |> ignore

                let mutable closing = 1

                for k in rank - 2 .. -1 .. 0 do
                    if (flat + rowLength) % (strides.[k] * shape.[k]) = 0 && closing = rank - 1 - k then
                        closing <- closing + 1

                sb.Append(String(']', closing)) |> ignore

        sb.ToString()
