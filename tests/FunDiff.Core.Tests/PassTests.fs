/// jit's optimization passes: what each removes or rewrites, shown on printed programs, and
/// that the program's value is unchanged.
module FunDiff.Tests.PassTests

open System
open Xunit
open FunDiff
open FunDiff.Compiler
open FunDiff.Tests.Harness

let private names (p: Program) =
    [ for e in p.Equations -> e.Primitive.Name ]

let private count (name: string) (p: Program) =
    names p |> List.filter ((=) name) |> List.length

let private x = Tensor.ofArray [| 0.3; -1.2; 0.7 |]

[<Fact>]
let ``CSE merges equal applications and DCE drops what the merges left dead`` () =
    let f (x: Tensor) = Tensor.sin x * 2.0 + Tensor.sin x * 2.0
    let before = makeIR f x
    let after = Passes.optimize before
    Assert.Equal<string list>([ "sin"; "mul"; "sin"; "mul"; "add" ], names before)
    Assert.Equal<string list>([ "sin"; "mul"; "add" ], names after)
    assertClose "value" rounding (Program.eval before [| x |]).[0] (Program.eval after [| x |]).[0]
    // the add now reads one variable twice
    let varId (a: Atom) =
        match a with
        | Atom.Var v -> v.Id
        | Atom.Literal _ -> -1

    let add = after.Equations.[2]
    Assert.Equal(varId add.Inputs.[0], varId add.Inputs.[1])

[<Fact>]
let ``CSE of an hvp program merges products that differ only in operand order`` () =
    let rosenbrock (x: Tensor) =
        let a, b = x.[1..], x.[.. x.Length - 2]
        Tensor.sum (100.0 * (a - b * b) ** 2.0 + (1.0 - b) ** 2.0)

    let x0 = Tensor.ofArray [| 0.5; 1.5; -0.3; 0.8 |]
    let v = Tensor.ofArray [| 1.0; 0.0; -1.0; 0.5 |]
    let before = makeIR (fun x -> hvp rosenbrock x v) x0
    let after = Passes.optimize before
    Assert.True(after.Equations.Length < before.Equations.Length, sprintf "before:\n%O\nafter:\n%O" before after)

    let duplicates (p: Program) =
        p.Equations
        |> Seq.groupBy (fun e ->
            let operands =
                [
                    for a in e.Inputs ->
                        (match a with
                         | Atom.Var v -> string v.Id
                         | Atom.Literal t -> string t)
                ]

            e.Primitive.Name,
            string e.Params,
            (if e.Primitive.Commutative then
                 List.sort operands
             else
                 operands))
        |> Seq.filter (fun (_, es) -> Seq.length es > 1)
        |> Seq.length

    Assert.True(duplicates before > 0, "the staged hvp program repeats an equation")
    Assert.Equal(0, duplicates after)
    assertClose "value" rounding (Program.eval before [| x0 |]).[0] (Program.eval after [| x0 |]).[0]

[<Fact>]
let ``CSE keeps repeated applications of a user primitive (it may not be pure)`` () =
    let calls = ref 0

    let counted =
        Primitive.define
            "counted"
            (fun xs ->
                calls.Value <- calls.Value + 1
                xs.[0] * 2.0)
            (fun a -> a.[0])
            (fun _ ts _ -> 2.0 * ts.[0])
            None

    let f (x: Tensor) =
        Primitive.apply counted [ x ] + Primitive.apply counted [ x ]

    let after = Passes.optimize (makeIR f x)
    Assert.Equal(2, count "counted" after)

[<Fact>]
let ``lowered shows the optimized program jit runs`` () =
    let f (x: Tensor) = Tensor.exp x * Tensor.exp x
    let p = lowered (jit f) x
    Assert.Equal<string list>([ "exp"; "mul" ], names p.Program)
    Assert.Contains("exp", string p)
    assertClose "jit f after the passes" rounding (f x) (jit f x)

[<Fact>]
let ``constant folding evaluates scalar equations of literals once`` () =
    let f (x: Tensor) =
        x * (Tensor.scalar 1.0 / Tensor.scalar 4.0 + Tensor.sin (Tensor.scalar 0.5))

    let before = makeIR f x
    let after = Passes.fold before
    Assert.Equal<string list>([ "div"; "sin"; "add"; "mul" ], names before)
    Assert.Equal<string list>([ "mul" ], names after)
    Assert.Contains((string (1.0 / 4.0 + sin 0.5)).Substring(0, 6), string after)
    assertClose "value" rounding (Program.eval before [| x |]).[0] (Program.eval after [| x |]).[0]

// ---- algebraic simplification (Simplify.fs) -------------------------------------------------------

/// The passes jit ran before simplification existed: what the simplification tests compare with.
let private withoutSimplify (p: Program) =
    p |> Passes.fold |> Passes.cse |> Passes.dce

/// The optimized program of `f` at `x`, checked to compute what the staged one does.
let private simplifiedAt (f: Tensor -> Tensor) (x: Tensor) =
    let before = makeIR f x
    let after = Passes.optimize before

    let expected, actual =
        (Program.eval before [| x |]).[0], (Program.eval after [| x |]).[0]

    Assert.Equal(expected.Aval, actual.Aval)
    assertClose "value" rounding expected actual
    before, after

/// A rank-0 value broadcast to `shape` (what JVP and transposition rules instantiate zeros and
/// ones as).
let private filled (shape: int[]) (v: Tensor) = Prim.broadcastInDim shape [||] v

let private rosenbrock (x: Tensor) =
    let a, b = x.[1..], x.[.. x.Length - 2]
    Tensor.sum (100.0 * (a - b * b) ** 2.0 + (1.0 - b) ** 2.0)

[<Fact>]
let ``the gradient of rosenbrock keeps no broadcast of a one and fewer products`` () =
    let x10 = Tensor.ofArray [| for i in 0..9 -> 0.3 * float i - 1.0 |]
    let before, after = simplifiedAt (grad rosenbrock) x10
    let old = withoutSimplify before
    Assert.Equal(1, count "broadcast_in_dim" old)
    Assert.Equal(0, count "broadcast_in_dim" after)
    Assert.True(count "mul" after < count "mul" old, sprintf "before:\n%O\nafter:\n%O" old after)
    // the scale reaches its operand directly instead of through a broadcast 100 made of 100·1
    Assert.Contains(" = mul 100.0 ", string after)
    assertClose "grad" rounding (grad rosenbrock x10) (jit (grad rosenbrock) x10)

[<Fact>]
let ``the gradient of a sum reads the literal one instead of a broadcast of it`` () =
    let f (x: Tensor) = Tensor.sum (Tensor.tanh x * x + x)

    let before, after = simplifiedAt (grad f) x
    Assert.Equal(1, count "broadcast_in_dim" (withoutSimplify before))
    Assert.Equal<string list>([ "tanh"; "mul"; "sub"; "add"; "mul"; "add" ], names after)

[<Fact>]
let ``products and quotients by one are their other operand`` () =
    for f in
        [
            (fun (x: Tensor) -> x * 1.0)
            (fun x -> 1.0 * x)
            (fun x -> x / 1.0)
            (fun x -> x * filled [| 3 |] (Tensor.scalar 1.0))
            (fun x -> filled [| 3 |] (Tensor.scalar 1.0) * x)
            (fun x -> x / filled [| 3 |] (Tensor.scalar 1.0))
        ] do
        let before, after = simplifiedAt f x
        Assert.True(count "mul" before + count "div" before = 1, string before)
        Assert.Empty(after.Equations)
        // the output is the input itself
        match after.Outputs.[0] with
        | Atom.Var v -> Assert.Equal(after.InVars.[0].Id, v.Id)
        | Atom.Literal t -> failwithf "the output is the literal %O" t

    // one over x is not x
    let _, after = simplifiedAt (fun x -> 1.0 / x) x
    Assert.Equal<string list>([ "div" ], names after)

[<Fact>]
let ``a product by a broadcast one that gives the result its shape becomes that broadcast`` () =
    let s = Tensor.scalar 0.7
    let before, after = simplifiedAt (fun s -> s * filled [| 9 |] (Tensor.scalar 1.0)) s
    Assert.Equal<string list>([ "broadcast_in_dim"; "mul" ], names before)
    Assert.Equal<string list>([ "broadcast_in_dim" ], names after)
    // the broadcast reads the input itself, not the literal one
    match after.Equations.[0].Inputs.[0] with
    | Atom.Var v -> Assert.Equal(after.InVars.[0].Id, v.Id)
    | Atom.Literal t -> failwithf "the broadcast reads the literal %O" t

    Assert.Equal("f64[9]", string after.Equations.[0].Outputs.[0].Aval)

[<Fact>]
let ``int64 products by one stay int64 and a conversion is not skipped`` () =
    let xi = Tensor.convert Int64 (Tensor.ofArray [| 1.0; -2.0; 3.0 |])
    let one = Tensor.convert Int64 (Tensor.scalar 1.0)
    let before, after = simplifiedAt (fun x -> x * one) xi
    Assert.Equal<string list>([ "mul" ], names before)
    Assert.Empty(after.Equations)
    Assert.Equal(Int64, after.Outputs.[0].Aval.DType)
    // a float64 product of the converted operand: the conversion stays (its output is float64)
    let _, after = simplifiedAt (fun x -> Tensor.convert Float64 x * 1.0) xi
    Assert.Equal<string list>([ "convert_element_type" ], names after)
    Assert.Equal(Float64, after.Outputs.[0].Aval.DType)
    // an int64 product whose shape comes from the broadcast one keeps that broadcast, int64
    let si = Tensor.convert Int64 (Tensor.scalar 4.0)
    let _, after = simplifiedAt (fun s -> s * filled [| 2 |] one) si
    Assert.Equal<string list>([ "broadcast_in_dim" ], names after)
    Assert.Equal("i64[2]", string after.Outputs.[0].Aval)

[<Fact>]
let ``sums with zero are the other operand and zero minus y is neg y`` () =
    let zeros = fun () -> filled [| 3 |] (Tensor.scalar 0.0)

    for f in
        [
            (fun (x: Tensor) -> x + zeros ())
            (fun x -> zeros () + x)
            (fun x -> x - zeros ())
            (fun x -> x + 0.0)
            (fun x -> x - 0.0)
        ] do
        let before, after = simplifiedAt f x
        Assert.NotEmpty(before.Equations)
        Assert.Empty(after.Equations)

    let before, after = simplifiedAt (fun x -> zeros () - x) x
    Assert.Equal<string list>([ "broadcast_in_dim"; "sub" ], names before)
    Assert.Equal<string list>([ "neg" ], names after)

[<Fact>]
let ``a product by zero is kept: it is NaN at infinities`` () =
    let _, after = simplifiedAt (fun x -> x * 0.0) x
    Assert.Equal<string list>([ "mul" ], names after)
    let inf = Tensor.ofArray [| Double.PositiveInfinity; 1.0 |]

    let p =
        Passes.optimize (makeIR (fun x -> x * filled [| 2 |] (Tensor.scalar 0.0)) inf)

    Assert.True(Double.IsNaN (Tensor.toArray (Program.eval p [| inf |]).[0]).[0])

[<Fact>]
let ``a negation of a negation is its operand`` () =
    let before, after = simplifiedAt (fun x -> Tensor.sin (-(-x))) x
    Assert.Equal<string list>([ "neg"; "neg"; "sin" ], names before)
    Assert.Equal<string list>([ "sin" ], names after)
    // three negations are one
    let _, after = simplifiedAt (fun x -> -(-(-x))) x
    Assert.Equal<string list>([ "neg" ], names after)

[<Fact>]
let ``transposes in a row compose and the identity is removed`` () =
    let m = Tensor.ofArray [| 1.0 .. 6.0 |] |> Tensor.reshape [| 2; 3 |]

    let before, after =
        simplifiedAt (fun m -> Tensor.transpose (Tensor.transpose m) * 2.0) m

    Assert.Equal<string list>([ "transpose"; "transpose"; "mul" ], names before)
    Assert.Equal<string list>([ "mul" ], names after)

    let t = Tensor.ofArray [| 1.0 .. 24.0 |] |> Tensor.reshape [| 2; 3; 4 |]
    let rotate = Tensor.transposeAxes [| 1; 2; 0 |]
    let before, after = simplifiedAt (fun t -> rotate (rotate t)) t
    Assert.Equal<string list>([ "transpose"; "transpose" ], names before)
    Assert.Equal<string list>([ "transpose" ], names after)
    Assert.Contains("permutation=(2,0,1)", string after)
    // three rotations are the identity
    let _, after = simplifiedAt (fun t -> rotate (rotate (rotate t))) t
    Assert.Empty(after.Equations)

[<Fact>]
let ``reshapes in a row are one reshape, none if it is back to the shape`` () =
    let m = Tensor.ofArray [| 1.0 .. 6.0 |] |> Tensor.reshape [| 2; 3 |]

    let before, after =
        simplifiedAt (fun m -> Tensor.reshape [| 3; 2 |] (Tensor.reshape [| 6 |] m)) m

    Assert.Equal<string list>([ "reshape"; "reshape" ], names before)
    Assert.Equal<string list>([ "reshape" ], names after)
    Assert.Contains("new_sizes=(3,2)", string after)

    let _, after =
        simplifiedAt (fun m -> Tensor.reshape [| 2; 3 |] (Tensor.reshape [| 6 |] m) + 1.0) m

    Assert.Equal<string list>([ "add" ], names after)

[<Fact>]
let ``a broadcast rank-0 value is read directly by an elementwise primitive`` () =
    let f (x: Tensor) =
        let s = Tensor.sum x
        x * filled [| 3 |] s + filled [| 3 |] (Tensor.scalar 2.0)

    let before, after = simplifiedAt f x
    Assert.Equal(2, count "broadcast_in_dim" before)
    Assert.Equal<string list>([ "reduce_sum"; "mul"; "add" ], names after)

[<Fact>]
let ``a broadcast zero that is the program's output stays, as one stored value`` () =
    let _, after =
        simplifiedAt (fun x -> filled [| 3 |] (Tensor.scalar 0.0) + x * 0.0 * 0.0) x

    Assert.Contains("mul", names after)

    let zeros =
        Passes.optimize (makeIR (fun (_: Tensor) -> filled [| 3 |] (Tensor.scalar 0.0)) x)

    Assert.Equal<string list>([ "broadcast_in_dim" ], names zeros)
    let value = (Program.eval zeros [| x |]).[0] :?> ConcreteTensor
    Assert.True(value.Array.IsUniform, "a broadcast of one value is a uniform array")
    Assert.Equal<float[]>([| 0.0; 0.0; 0.0 |], Tensor.toArray value)

[<Fact>]
let ``a user primitive is not simplified even if it declares an identity`` () =
    let twice =
        Primitive.define "twice" (fun xs -> xs.[0] * 2.0) (fun a -> a.[0]) (fun _ ts _ -> 2.0 * ts.[0]) None

    twice.Involution <- true

    let _, after =
        simplifiedAt (fun x -> Primitive.apply twice [ Primitive.apply twice [ x ] ]) x

    Assert.Equal<string list>([ "twice"; "twice" ], names after)

[<Fact>]
let ``broadcasts in a row are one broadcast and a sum over no axes is its operand`` () =
    let f (x: Tensor) =
        Prim.broadcastInDim [| 4; 2; 3 |] [| 1; 2 |] (Prim.broadcastInDim [| 2; 3 |] [| 1 |] x)

    let before, after = simplifiedAt f x
    Assert.Equal<string list>([ "broadcast_in_dim"; "broadcast_in_dim" ], names before)
    Assert.Equal<string list>([ "broadcast_in_dim" ], names after)
    Assert.Contains("broadcast_dimensions=(2)", string after)
    // a sum over no axes (bound directly: the op skips it) and a broadcast to the own shape
    let g (x: Tensor) =
        Tensor.sin (
            Prim.broadcastInDim
                [| 3 |]
                [| 0 |]
                (Interpreter.Bind1(Primitives.Structural.reduceSumP, [| x |], Params [| "axes", Ints [||] |]))
        )

    let before, after = simplifiedAt g x
    Assert.Equal<string list>([ "reduce_sum"; "broadcast_in_dim"; "sin" ], names before)
    Assert.Equal<string list>([ "sin" ], names after)
