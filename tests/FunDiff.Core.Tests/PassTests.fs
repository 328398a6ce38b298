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
