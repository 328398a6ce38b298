/// The accuracy standard of the elementwise float kernels (docs/RELIABILITY.md, "Accuracy of
/// elementwise kernels"): every result within 2 ulp of the correctly rounded value, at every
/// tensor size and position. The correctly rounded values come from tests/reference/elementwise.csv,
/// made with mpmath by tests/reference/make_elementwise_table.py (this test needs no Python).
/// Also the issue's reproducers (log1p, expm1, tanh and softplus near 0) with analytic values.
module FunDiff.Tests.AccuracyTests

open System
open System.IO
open Xunit
open FunDiff

/// The bound: at most this many representable doubles between a result and the correctly
/// rounded value (so an error below 2.5 ulp).
[<Literal>]
let private Bound = 2L

/// One row of the reference table: an op, its operands and the correctly rounded result.
type private Case =
    {
        Op: string
        X: float
        Y: float
        Expected: float
    }

let private ofHex (s: string) =
    BitConverter.Int64BitsToDouble(Convert.ToInt64(s, 16))

/// The table, copied next to the test assembly by the test project.
let private table =
    lazy
        (let path = Path.Combine(AppContext.BaseDirectory, "reference", "elementwise.csv")

         File.ReadAllLines path
         |> Array.skip 1
         |> Array.map (fun line ->
             let p = line.Split ','

             {
                 Op = p.[0]
                 X = ofHex p.[1]
                 Y = (if p.[2] = "" then nan else ofHex p.[2])
                 Expected = ofHex p.[3]
             }))

/// The position of a double on the number line, counted in representable doubles (±0 both 0).
let private ordinal (v: float) =
    let b = BitConverter.DoubleToInt64Bits v
    if b < 0L then -(b &&& Int64.MaxValue) else b

/// How many representable doubles lie between the expected and the actual result. NaN must
/// meet NaN, an infinity itself and a zero itself (its sign included); Int64.MaxValue otherwise.
let private distance (expected: float) (actual: float) =
    if Double.IsNaN expected || Double.IsNaN actual then
        if Double.IsNaN expected && Double.IsNaN actual then
            0L
        else
            Int64.MaxValue
    elif expected = 0.0 || Double.IsInfinity expected || Double.IsInfinity actual then
        if BitConverter.DoubleToInt64Bits expected = BitConverter.DoubleToInt64Bits actual then
            0L
        else
            Int64.MaxValue
    else
        abs (ordinal expected - ordinal actual)

/// The public op a table row names, as a function of its two operand tensors (y unused by the
/// unary ops; pow_const's constant is the row's y, so it has one function per constant).
let private opOf (op: string) (c: float) : Tensor -> Tensor -> Tensor =
    let unary (f: Tensor -> Tensor) = fun x (_: Tensor) -> f x

    match op with
    | "sin" -> unary Tensor.sin
    | "cos" -> unary Tensor.cos
    | "tan" -> unary Tensor.tan
    | "asin" -> unary Tensor.asin
    | "acos" -> unary Tensor.acos
    | "atan" -> unary Tensor.atan
    | "sinh" -> unary Tensor.sinh
    | "cosh" -> unary Tensor.cosh
    | "tanh" -> unary Tensor.tanh
    | "exp" -> unary Tensor.exp
    | "expm1" -> unary Tensor.expm1
    | "log" -> unary Tensor.log
    | "log1p" -> unary Tensor.log1p
    | "sqrt" -> unary Tensor.sqrt
    | "logistic" -> unary Tensor.sigmoid
    | "softplus" -> unary Tensor.softplus
    | "erf" -> unary Tensor.erf
    | "pow_const" -> unary (Tensor.powConst c)
    | "pow" -> Tensor.pow
    | "atan2" -> Tensor.atan2
    | _ -> failwithf "the reference table names an unknown op %s" op

/// The table's rows grouped by the function they test (pow_const by its constant).
let private groups () =
    table.Force()
    |> Array.groupBy (fun c -> c.Op, (if c.Op = "pow_const" then c.Y else 0.0))
    |> Array.map (fun ((op, c), cases) ->
        sprintf "%s%s" op (if op = "pow_const" then sprintf " %g" c else ""), opOf op c, cases)

/// Evaluates `f` on the cases laid out in one tensor of their count, in order.
let private evaluate (f: Tensor -> Tensor -> Tensor) (cases: Case[]) =
    let xs = cases |> Array.map (fun c -> c.X)
    let ys = cases |> Array.map (fun c -> c.Y) // unused by unary ops
    Tensor.toArray (f (Tensor.ofArray xs) (Tensor.ofArray ys))

/// A failure line for a case whose result misses the bound, if it does.
let private miss (name: string) (where: string) (case: Case) (actual: float) =
    let d = distance case.Expected actual

    if d > Bound then
        Some(
            sprintf
                "%s(%.17g%s) %s: %.17g, want %.17g (%s ulp)"
                name
                case.X
                (if case.Op = "pow" || case.Op = "atan2" then
                     sprintf ", %.17g" case.Y
                 else
                     "")
                where
                actual
                case.Expected
                (if d = Int64.MaxValue then "∞" else string d)
        )
    else
        None

let private assertNoMisses (misses: string list) =
    if not misses.IsEmpty then
        failwithf
            "%d results miss the %d-ulp bound:\n%s"
            misses.Length
            Bound
            (String.Join("\n", List.truncate 30 misses))

[<Fact>]
let ``the reference table covers every float elementwise primitive`` () =
    let ops = table.Force() |> Array.map (fun c -> c.Op) |> Set.ofArray

    let expected =
        set
            [
                "sin"
                "cos"
                "tan"
                "asin"
                "acos"
                "atan"
                "sinh"
                "cosh"
                "tanh"
                "exp"
                "expm1"
                "log"
                "log1p"
                "sqrt"
                "logistic"
                "softplus"
                "erf"
                "pow_const"
                "pow"
                "atan2"
            ]

    Assert.Equal<Set<string>>(expected, ops)
    Assert.True(table.Force().Length > 8000, "the table holds the whole sweep")

[<Fact>]
let ``every kernel is within 2 ulp of the correctly rounded value, alone and in a long tensor`` () =
    assertNoMisses
        [
            for name, f, cases in groups () do
                // one tensor of all the cases (the vectorized kernels) and each case alone (the
                // small-size path)
                let together = evaluate f cases

                for i in 0 .. cases.Length - 1 do
                    yield! Option.toList (miss name "in a tensor of all cases" cases.[i] together.[i])
                    let alone = (evaluate f [| cases.[i] |]).[0]
                    yield! Option.toList (miss name "alone" cases.[i] alone)
        ]

[<Fact>]
let ``every kernel meets the bound at every tensor size from 1 to 40 and 1000, at every position`` () =
    assertNoMisses
        [
            for name, f, cases in groups () do
                let n = cases.Length

                for size in [ 1..40 ] @ [ 1000 ] do
                    // windows of `size` consecutive cases (cyclically), starting at two phases, so
                    // each case sits at different positions among the other cases
                    for phase in List.distinct [ 0; size / 2 ] do
                        for start in phase..size .. phase + n - 1 do
                            let window = Array.init size (fun j -> cases.[(start + j) % n])
                            let got = evaluate f window

                            for j in 0 .. size - 1 do
                                yield!
                                    Option.toList (
                                        miss name (sprintf "at %d of a tensor of %d" j size) window.[j] got.[j]
                                    )
        ]

[<Fact>]
let ``every kernel meets the bound at the first, a middle and the last position among equal neighbours`` () =
    // (sizes up to 100, not 1000: one tensor per case and position would make 700 MB of garbage)
    assertNoMisses
        [
            for name, f, cases in groups () do
                // 0.5 lies in every domain; as atan2's and pow's other operand it is 0.5 too
                let filler =
                    {
                        Op = ""
                        X = 0.5
                        Y = 0.5
                        Expected = nan
                    }

                for size in [ 9; 37; 100 ] do
                    for position in [ 0; 5; size - 1 ] do
                        for case in cases do
                            let window = Array.init size (fun j -> if j = position then case else filler)
                            let got = evaluate f window

                            yield!
                                Option.toList (
                                    miss name (sprintf "at %d of %d among 0.5s" position size) case got.[position]
                                )
        ]

// ---- the issue's reproducers, with analytic values -------------------------------------------

/// The values of a unary op on a tensor of `size` copies of x.
let private onCopies (f: Tensor -> Tensor) (size: int) (x: float) =
    Tensor.toArray (f (Tensor.full [| size |] x))

let private sizes = [ 1; 9; 1000 ]

[<Fact>]
let ``log1p of 1e-17 is 1e-17 at every size`` () =
    // log1p x = x − x²/2 + …, and x²/2 is far below half an ulp of 1e-17
    for size in sizes do
        Assert.All(onCopies Tensor.log1p size 1e-17, (fun v -> Assert.Equal(1e-17, v)))

    Assert.Equal(1e-17, float (Tensor.log1p (Tensor.scalar 1e-17)))

[<Fact>]
let ``expm1 of 1e-10 has a relative error below 1e-15 at every size`` () =
    // expm1 x = x + x²/2 + x³/6 + …; the cubic term is 1e-31, below an ulp of the result
    let x = 1e-10
    let exact = x + x * x / 2.0

    for size in sizes do
        Assert.All(
            onCopies Tensor.expm1 size x,
            (fun v -> Assert.True(abs (v - exact) / exact < 1e-15, sprintf "expm1 1e-10 = %.17g" v))
        )

[<Fact>]
let ``tanh and sinh of tiny values are the values themselves at every size`` () =
    // tanh x = x − x³/3 + …, sinh x = x + x³/6 + …: the cubic term of 1e-10 is 1e-30 below an
    // ulp of it, and -0 or 1.00000008e-10 (the vectorized kernels' results) are far off
    for x in [ 1e-10; 1e-20; -1e-20; 1e-300 ] do
        for size in sizes do
            Assert.All(onCopies Tensor.tanh size x, (fun v -> Assert.Equal(x, v)))
            Assert.All(onCopies Tensor.sinh size x, (fun v -> Assert.Equal(x, v)))

    // at 1e-12 the vectorized tanh was 2e-5 off relatively; here the cubic term is 3.3e-37
    for size in sizes do
        Assert.All(onCopies Tensor.tanh size 1e-12, (fun v -> Assert.Equal(1e-12, v)))

[<Fact>]
let ``softplus of -40 is e^-40 and log (softplus -50) is finite`` () =
    // softplus x = log(1 + e^x) = e^x − e^2x / 2 + …: at −40 the second term is 1e-17 relative
    for size in sizes do
        Assert.All(
            onCopies Tensor.softplus size -40.0,
            (fun v -> Assert.True(abs (v - Math.Exp -40.0) / Math.Exp -40.0 < 1e-15, sprintf "softplus -40 = %.17g" v))
        )

        Assert.All(
            onCopies (Tensor.softplus >> Tensor.log) size -50.0,
            (fun v -> Assert.True(abs (v + 50.0) < 1e-13, sprintf "log (softplus -50) = %.17g" v))
        )
