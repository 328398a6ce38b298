/// The op-law draws of the property harness (PrimitiveLaws' applications, from every
/// primitive's domain) under jit: for every primitive of the rules table, `jit f`,
/// `jvp (jit f)`, `vjp (jit f)`, `jit (grad g)`, `grad (jit g)`, `jit (hvp g x)`,
/// `hvp (jit g)`, `jit (hessian g)`, `hessian (jit g)`, `vmap (jit f)` and `jit (vmap f)`
/// equal eager evaluation to 1e-13 (relative, and absolute relative to the largest element,
/// as the fuzzer compares), and so does jit with one variable repeated as two operands. jit
/// is tried with the operands not differentiated closed over (captured values of the
/// compiled program) and with every operand a jit input (`Tree.jit` over the operand array);
/// the domains draw shapes of rank 0 to 3, so both the executor's float-register path
/// (rank-0 float64 equations) and its tensor path are exercised. User-defined primitives
/// (not in the table) are checked too.
module FunDiff.Tests.JitLaws

open System
open Xunit
open FunDiff
open FunDiff.Transforms
open FunDiff.Tests.Harness
open FunDiff.Tests.PrimitiveLaws

/// Samples per primitive per law, as in PrimitiveLaws: the nine tests take about 6 s
/// together on two cores (each sample traces and compiles a few small programs), inside the
/// file's budget of 20-30 s, so there is no need to draw fewer.
let jitSamples = 40

/// The largest finite magnitude of a tensor's elements.
let private magnitude (t: Tensor) =
    values t
    |> Array.fold (fun m v -> if Double.IsFinite v then max m (abs v) else m) 0.0

/// jit runs the primitives eager evaluation runs, on the same values; a derived program (a
/// transpose) may sum fan-out in another order, hence the fuzzer's tolerance rather than
/// bit-equality.
let nearly (expected: Tensor) =
    {
        Relative = 1e-13
        Absolute = 1e-13 * (1.0 + magnitude expected)
    }

/// Fails unless the jitted result has the eager one's dtype and values (to `nearly`).
let private assertNearly (what: string) (expected: Tensor) (actual: Tensor) =
    if actual.DType <> expected.DType then
        failwithf "%s: dtype %O, but eager evaluation gives %O" what actual.DType expected.DType

    assertClose what (nearly expected) expected actual

let private apply (app: Application) (operands: Tensor[]) =
    Domains.applyAll app.Primitive operands app.Params

/// The application as a function of operand `Wrt` under jit, in two forms: the other operands
/// closed over (the trace captures them as the program's first inputs), and every operand a
/// jit input (the program has no captured values).
let private jitForms (app: Application) : (string * (Tensor -> Tensor)) list =
    let allInputs = Tree.jit (fun (xs: Tensor[]) -> apply app xs)

    [
        "other operands closed over", jit app.Apply
        "every operand a jit input", (fun x -> allInputs (Array.updateAt app.Wrt x app.Operands))
    ]

// ---- the laws ------------------------------------------------------------------------------

/// jit f = f, in both forms, and with every operand closed over (a program of captured values
/// only, which the passes may fold).
let valueLaw: Law =
    fun _ app ->
        let x = app.Point
        let expected = app.Apply x

        for form, f in jitForms app do
            assertNearly (sprintf "jit f (%s) vs f" form) expected (f x)

        assertNearly "jit f (every operand closed over) vs f" expected (jit (fun _ -> app.Apply x) (Tensor.scalar 0.0))

/// jvp (jit f) = jvp f: primal and tangent (zeros for a zero derivative, as eager).
let jvpLaw: Law =
    fun r app ->
        let x = app.Point
        let v = direction r x
        let y, t = jvp app.Apply x v

        for form, f in jitForms app do
            let yj, tj = jvp f x v
            assertNearly (sprintf "jvp (jit f)'s primal (%s) vs jvp f's" form) y yj
            assertNearly (sprintf "jvp (jit f)'s tangent (%s) vs jvp f's" form) t tj

/// vjp (jit f) = vjp f: primal, and the pullback of a random cotangent.
let vjpLaw: Law =
    fun r app ->
        let x = app.Point
        let y, pullback = vjp app.Apply x
        let u = randomTensor r -1.0 1.0 y.Shape
        let ct = pullback u

        for form, f in jitForms app do
            let yj, pullbackJ = vjp f x
            assertNearly (sprintf "vjp (jit f)'s primal (%s) vs vjp f's" form) y yj
            assertNearly (sprintf "vjp (jit f)'s cotangent (%s) vs vjp f's" form) ct (pullbackJ u)

/// The scalarized application under jit (both forms).
let private scalarForms (r: Random) (app: Application) =
    let y = app.Apply app.Point
    let w = randomTensor r -1.0 1.0 y.Shape

    let scalar (f: Tensor -> Tensor) x =
        Tensor.sum (w * Tensor.convert Float64 (f x))

    scalar app.Apply, [ for form, f in jitForms app -> form, scalar f ]

/// jit (grad g) = grad (jit g) = grad g, for g = Σ w · f.
let gradLaw: Law =
    fun r app ->
        let g, jitted = scalarForms r app
        let x = app.Point
        let expected = grad g x
        assertNearly "jit (grad g) vs grad g" expected (jit (grad g) x)

        for form, gj in jitted do
            assertNearly (sprintf "grad (jit g) (%s) vs grad g" form) expected (grad gj x)

/// Second order: jit (hvp g x) = hvp (jit g) x = hvp g x, and reverse over reverse through
/// jit, grad ⟨grad (jit g) x, v⟩ = grad ⟨grad g x, v⟩.
let hvpLaw: Law =
    fun r app ->
        let g, jitted = scalarForms r app
        let x = app.Point
        let v = direction r x
        let expected = hvp g x v
        assertNearly "jit (hvp g x) vs hvp g x" expected (jit (hvp g x) v)

        let reverseOverReverse (g: Tensor -> Tensor) =
            grad (fun x -> Tensor.sum (grad g x * v)) x

        let expectedReverse = reverseOverReverse g

        for form, gj in jitted do
            assertNearly (sprintf "hvp (jit g) (%s) vs hvp g" form) expected (hvp gj x v)

            assertNearly
                (sprintf "grad ⟨grad (jit g), v⟩ (%s) vs grad ⟨grad g, v⟩" form)
                expectedReverse
                (reverseOverReverse gj)

/// The whole Hessian: jit (hessian g) = hessian (jit g) = hessian g (every column, where
/// hvpLaw checks one direction).
let hessianLaw: Law =
    fun r app ->
        let g, jitted = scalarForms r app
        let x = app.Point
        let expected = hessian g x
        assertNearly "jit (hessian g) vs hessian g" expected (jit (hessian g) x)

        for form, gj in jitted do
            assertNearly (sprintf "hessian (jit g) (%s) vs hessian g" form) expected (hessian gj x)

/// An operand repeated: the application with every other operand of operand `Wrt`'s aval
/// replaced by `x` itself (`sub x x`, `max x x`, `dot_general x x`), under jit and eagerly:
/// value, jvp and grad. One variable feeding two operands is what the passes see as shared
/// (merged, reordered, simplified); eager evaluation is the reference whatever the values (a
/// repeated operand may leave the domain: NaN must then match NaN).
let repeatedOperandLaw: Law =
    fun r app ->
        let x = app.Point
        let aval = x.Aval

        let others =
            [
                for j in 0 .. app.Operands.Length - 1 do
                    if j <> app.Wrt && app.Operands.[j].Aval.Equals aval then
                        j
            ]

        for j in others do
            let f (x: Tensor) =
                apply app (app.Operands |> Array.updateAt app.Wrt x |> Array.updateAt j x)

            let what law =
                sprintf "%s with operand %d also operand %d" law app.Wrt j

            let y = f x
            assertNearly (what "jit f vs f") y (jit f x)
            let v = direction r x
            let _, t = jvp f x v
            assertNearly (what "jvp (jit f)'s tangent vs jvp f's") t (snd (jvp (jit f) x v))
            let w = randomTensor r -1.0 1.0 y.Shape

            let g (f: Tensor -> Tensor) x =
                Tensor.sum (w * Tensor.convert Float64 (f x))

            let expected = grad (g f) x
            assertNearly (what "grad (jit g) vs grad g") expected (grad (g (jit f)) x)
            assertNearly (what "jit (grad g) vs grad g") expected (jit (grad (g f)) x)

/// vmap (jit f) = jit (vmap f) = vmap f, on VmapLaws' batched draws (random batch sizes,
/// batched and shared operands, batch axes): jit with every operand an input, and jit closing
/// over the other operands' batch tracers (captured for one call).
let vmapLaw: Law =
    fun r app ->
        let d = VmapLaws.draw r app
        let i = app.Wrt

        let vmapped (h: Tensor[] -> Tensor) (operands: Tensor[]) =
            (Batching.vmapMany "vmap" (fun xs -> [| h xs |]) operands d.Axes (fun _ -> d.OutAxis)).[0]

        let expected = vmapped (apply app) d.Batched

        let what law =
            sprintf "%s vs vmap f (%s)" law (VmapLaws.describeDraw d)

        let allInputs = Tree.jit (fun (xs: Tensor[]) -> apply app xs)
        assertNearly (what "vmap (jit f) (every operand a jit input)") expected (vmapped allInputs d.Batched)

        let closing (xs: Tensor[]) =
            jit (fun x -> apply app (Array.updateAt i x xs)) xs.[i]

        assertNearly (what "vmap (jit f) (other operands closed over)") expected (vmapped closing d.Batched)

        assertNearly (what "jit (vmap f)") expected (Tree.jit (fun (xs: Tensor[]) -> vmapped (apply app) xs) d.Batched)

// ---- one test per law, over the whole rules table -------------------------------------------

[<Fact>]
let ``jit f equals f, for every primitive`` () =
    checkEveryPrimitiveOn jitSamples valueLaw

[<Fact>]
let ``jvp of jit f equals jvp f, for every primitive`` () = checkEveryPrimitiveOn jitSamples jvpLaw

[<Fact>]
let ``vjp of jit f equals vjp f, for every primitive`` () = checkEveryPrimitiveOn jitSamples vjpLaw

[<Fact>]
let ``jit of grad and grad of jit equal grad, for every primitive`` () =
    checkEveryPrimitiveOn jitSamples gradLaw

[<Fact>]
let ``jit of hvp and hvp of jit equal hvp, for every primitive`` () = checkEveryPrimitiveOn jitSamples hvpLaw

[<Fact>]
let ``jit of hessian and hessian of jit equal hessian, for every primitive`` () =
    checkEveryPrimitiveOn jitSamples hessianLaw

[<Fact>]
let ``jit equals eager with an operand repeated, for every primitive`` () =
    checkEveryPrimitiveOn jitSamples repeatedOperandLaw

[<Fact>]
let ``vmap of jit f and jit of vmap f equal vmap f, for every primitive`` () =
    checkEveryPrimitiveOn jitSamples vmapLaw

// ---- user-defined primitives (not in the rules table) ----------------------------------------

/// The laws without vmap (PrimitiveLaws' user primitives have no batch rule).
let private unbatchedLaws =
    [
        "value", valueLaw
        "jvp", jvpLaw
        "vjp", vjpLaw
        "grad", gradLaw
        "hvp", hvpLaw
        "hessian", hessianLaw
    ]

[<Fact>]
let ``user-defined primitives obey the jit laws`` () =
    for prim in [ smoothClip; triple ] do
        for name, law in unbatchedLaws do
            match checkLawOn jitSamples law prim realDomain with
            | Some failure -> failwithf "law %s: %s" name failure
            | None -> ()
