/// The IR: programs print like jaxprs, dead equations are removed, evaluation binds the
/// equations again (so a program evaluated under a transform is transformed), and nothing
/// recurses with program length.
module FunDiff.Tests.IRTests

open System.Threading
open Xunit
open FunDiff

[<Fact>]
let ``makeIR prints a jaxpr-style program`` () =
    let p =
        makeIR (fun x -> Tensor.sum (sin x * x)) (Tensor.ofArray [| 1.0; 2.0; 3.0 |])

    let expected =
        "{ lambda ; a:f64[3] . let\n    b:f64[3] = sin a\n    c:f64[3] = mul b a\n    d:f64[] = reduce_sum[axes=(0)] c\n  in (d) }"

    Assert.Equal(expected, string p)

[<Fact>]
let ``makeIR removes dead equations`` () =
    let p =
        makeIR
            (fun x ->
                let _unused = exp x * 3.0
                cos x)
            (Tensor.ofArray [| 1.0 |])

    Assert.Equal(1, p.Equations.Length)
    Assert.Equal("cos", p.Equations.[0].Primitive.Name)

[<Fact>]
let ``the gradient program shows 2xy for f(x, y) = x²y + y + 2`` () =
    let f (v: Tensor) = v.[0] * v.[0] * v.[1] + v.[1] + 2.0
    let p = makeIR (grad f) (Tensor.ofArray [| 3.0; 4.0 |])
    let text = string p
    Assert.Contains("mul", text)
    // evaluating the printed program gives the gradient (2xy, x² + 1)
    let g = (Program.eval p [| Tensor.ofArray [| 3.0; 4.0 |] |]).[0]
    Assert.Equal<float[]>([| 24.0; 10.0 |], Tensor.toArray g)

[<Fact>]
let ``a program evaluated inside grad is differentiated`` () =
    let f (x: Tensor) = Tensor.sum (sin x * x)
    let x = Tensor.ofArray [| 0.5; 1.5 |]
    let p = makeIR f x
    let viaProgram = grad (fun x -> (Program.eval p [| x |]).[0]) x
    Assert.Equal<float[]>(Tensor.toArray (grad f x), Tensor.toArray viaProgram)

[<Fact>]
let ``programs have structurally equal params`` () =
    let f (x: Tensor) = Tensor.sumAxes [ 1 ] (x * 2.0)
    let a = makeIR f (Tensor.zeros [| 2; 3 |])
    let b = makeIR f (Tensor.ones [| 2; 3 |])
    Assert.Equal(a.Equations.Length, b.Equations.Length)

    for i in 0 .. a.Equations.Length - 1 do
        Assert.Equal(a.Equations.[i].Params, b.Equations.[i].Params)

[<Fact>]
let ``ToMermaid draws every equation and edge`` () =
    let p = makeIR (fun x -> x ** 3.0 + x ** 2.0) (Tensor.scalar 2.0)
    let m = p.ToMermaid()
    Assert.StartsWith("flowchart TD", m)
    Assert.Contains("pow_const[y=3.0]", m)
    Assert.Contains("add", m)
    Assert.Contains("-->", m)

/// Runs a function on a thread with a 1 MiB stack (so recursion with depth shows up).
let private onSmallStack (work: unit -> unit) =
    let mutable error: exn = null

    let t =
        Thread(
            (fun () ->
                try
                    work ()
                with e ->
                    error <- e),
            1024 * 1024
        )

    t.Start()
    t.Join()

    if not (isNull error) then
        raise error

[<Fact>]
let ``a long program is staged, printed, evaluated and differentiated without deep recursion`` () =
    onSmallStack (fun () ->
        // 20,000 iterations of 3 primitives each
        let f (x: Tensor) =
            let mutable z = x

            for _ in 1..20000 do
                z <- sin z * 0.5 + x

            z

        let x = Tensor.scalar 0.3
        let p = makeIR f x
        Assert.True(p.Equations.Length >= 60000)
        Assert.True((string p).Length > 60000)
        Assert.True((p.ToMermaid()).Length > 60000)
        let viaProgram = (Program.eval p [| x |]).[0]
        Assert.Equal(float (f x), float viaProgram)
        let g = grad f x
        let _, t = jvp f x (Tensor.scalar 1.0)
        Assert.Equal(float t, float g, 10))

[<Fact>]
let ``a 100,000-primitive loop differentiates and prints on a 1 MiB stack`` () =
    onSmallStack (fun () ->
        // z ← a·cos(z + i) + z·b: 5 primitives per iteration, 20,000 iterations
        let loop (p: Tensor) =
            let a, b = p.[0], p.[1]
            let mutable z = Tensor.scalar 0.5

            for i in 0..19999 do
                z <- a * cos (z + float i) + z * b

            z

        let p = Tensor.ofArray [| 0.3; 0.6 |]
        let g = grad loop p
        let _, ta = jvp loop p (Tensor.ofArray [| 1.0; 0.0 |])
        let _, tb = jvp loop p (Tensor.ofArray [| 0.0; 1.0 |])
        Assert.Equal(float ta, (Tensor.toArray g).[0], 9)
        Assert.Equal(float tb, (Tensor.toArray g).[1], 9)
        let program = makeIR (grad loop) p
        Assert.True(program.Equations.Length >= 100000)
        Assert.True((string program).Length > 1000000))

[<Fact>]
let ``the gradient of a 10 million element function completes`` () =
    let n = 10_000_000
    let x = Tensor.linspace -1.0 1.0 n
    let g = grad (fun x -> Tensor.sum (sin x * x)) x
    let values = Tensor.toArray g
    Assert.Equal(n, values.Length)

    for i in [ 0; n / 3; n / 2; n - 1 ] do
        let v = -1.0 + 2.0 * float i / float (n - 1)
        Assert.Equal(cos v * v + sin v, values.[i], 12)

// ---- a program is immutable: it hands out read-only views, never its arrays -----------------------

/// A program with a captured constant and a few equations.
let private scaledProgram () =
    makeIR (fun x -> Tensor.sum (sin x * Tensor.ofArray [| 1.0; 2.0; 3.0 |])) (Tensor.ofArray [| 1.0; 2.0; 3.0 |])

[<Fact>]
let ``Program and Equation expose no array and no constructor`` () =
    let mutable checkedProperties = 0

    for t in [ typeof<Program>; typeof<Equation> ] do
        // a public constructor would let its caller keep (and write) the arrays it passed in
        Assert.Empty(t.GetConstructors())

        for p in t.GetProperties() do
            checkedProperties <- checkedProperties + 1
            let pt = p.PropertyType

            let writable =
                pt.IsArray
                || pt.IsGenericType
                   && pt.GetGenericTypeDefinition() = typedefof<System.Collections.Generic.List<_>>

            Assert.False(writable, sprintf "%s.%s is a %s: a writable view of the program" t.Name p.Name pt.Name)

    // ConstVars, Consts, InVars, Equations, Outputs, NumVars; Primitive, Params, Inputs, Outputs
    Assert.True(checkedProperties >= 10, sprintf "only %d properties checked" checkedProperties)

[<Fact>]
let ``writing into a program's collections is refused and eval is unchanged`` () =
    let p = scaledProgram ()
    let x = Tensor.ofArray [| 0.5; 1.0; 1.5 |]
    let before = Tensor.toScalar (Program.eval p [| x |]).[0]
    let text = string p
    Assert.NotEmpty(p.Consts)

    // the issue's `p.Consts.[0] <- zeros` does not compile; the mutable interfaces refuse it
    let refuse (write: unit -> unit) =
        Assert.Throws<System.NotSupportedException>(write) |> ignore

    refuse (fun () -> (p.Consts :> System.Collections.Generic.IList<Tensor>).[0] <- Tensor.zeros [| 3 |])
    refuse (fun () -> (p.Equations :> System.Collections.Generic.IList<Equation>).RemoveAt 0)
    refuse (fun () -> (p.InVars :> System.Collections.Generic.IList<Var>).Clear())
    refuse (fun () -> (p.Outputs :> System.Collections.Generic.IList<Atom>).[0] <- Atom.Literal(Tensor.scalar 0.0))
    refuse (fun () -> (p.Equations.[0].Inputs :> System.Collections.Generic.IList<Atom>).[0] <- Atom.Literal(x))

    Assert.Equal(before, Tensor.toScalar (Program.eval p [| x |]).[0])
    Assert.Equal(text, string p)
