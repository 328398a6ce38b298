/// The laws every primitive's rules must obey, checked on random applications drawn from the
/// primitive's domain (`FunDiff.Tests.Domains`). Each law is one test that loops over the rules
/// table, so a new primitive is checked as soon as it has a table entry and a domain.
/// An application is differentiated with respect to each float64 operand in turn, the others
/// held fixed.
module FunDiff.Tests.PrimitiveLaws

open System
open FsCheck.FSharp
open Xunit
open FunDiff
open FunDiff.Primitives
open FunDiff.Rules
open FunDiff.Tests.Domains
open FunDiff.Tests.Harness

/// One application of a primitive, seen as a function of one of its operands.
type Application =
    {
        Primitive: Primitive
        Operands: Tensor[]
        Params: Params
        /// The operand differentiated.
        Wrt: int
        /// The derivative is zero by definition (the domain says so, or the output is not float64).
        ZeroDerivative: bool
    }

    /// The point of differentiation: the operand `Wrt`.
    member a.Point = a.Operands.[a.Wrt]

    /// The primitive as a function of operand `Wrt`.
    member a.Apply(x: Tensor) =
        applyAll a.Primitive (Array.updateAt a.Wrt x a.Operands) a.Params

    member a.Describe =
        sprintf "%s\n  differentiated with respect to operand %d" (describeSample a.Primitive a.Operands a.Params) a.Wrt

/// The applications of one sample: one per float64 operand.
let applications (prim: Primitive) (domain: Domain) (r: Random) =
    let operands, pars = domain.Sample r
    let output = applyAll prim operands pars

    [
        for i in 0 .. operands.Length - 1 do
            if operands.[i].DType = Float64 then
                {
                    Primitive = prim
                    Operands = operands
                    Params = pars
                    Wrt = i
                    ZeroDerivative = domain.ZeroDerivative || output.DType <> Float64
                }
    ]

/// A law: checks one application, drawing any directions it needs from `r`; raises on failure.
type Law = Random -> Application -> unit

/// Samples per primitive per law.
let samples = 40

/// Checks a law on `n` random applications of one primitive (seeds drawn by FsCheck from a
/// fixed replay seed). None if it holds; else the failure, naming the primitive and the sample
/// (avals, params, values).
let checkLawOn (n: int) (law: Law) (prim: Primitive) (domain: Domain) : string option =
    let property =
        Prop.forAll randomSeeds (fun seed ->
            let r = Random seed

            for app in applications prim domain r do
                try
                    law r app
                with e ->
                    failwithf "sample drawn by System.Random(%d)\n%s\n%s" seed app.Describe e.Message)

    try
        checkProperty 20250101UL 7919UL n property
        None
    with e ->
        Some(sprintf "%s:\n%s" prim.Name e.Message)

/// `checkLawOn` with `samples` applications.
let checkLaw (law: Law) (prim: Primitive) (domain: Domain) = checkLawOn samples law prim domain

/// Checks a law on `n` random applications of every primitive of the rules table; fails
/// naming every primitive that breaks it or has no domain.
let checkEveryPrimitiveOn (n: int) (law: Law) =
    let failures =
        [
            for prim in Table.primitives do
                match Domains.tryFind prim with
                | None ->
                    yield
                        sprintf
                            "%s: has rules in FunDiff.Rules.Table but no domain in FunDiff.Tests.Domains (tests/FunDiff.Core.Tests/Domains.fs), so it cannot be checked; add one."
                            prim.Name
                | Some domain ->
                    match checkLawOn n law prim domain with
                    | Some failure -> yield failure
                    | None -> ()
        ]

    if not failures.IsEmpty then
        failwithf "%d primitive(s) break the law:\n\n%s" failures.Length (String.concat "\n\n" failures)

/// `checkEveryPrimitiveOn` with `samples` applications per primitive.
let checkEveryPrimitive (law: Law) = checkEveryPrimitiveOn samples law

/// A random direction of a tensor's shape, entries in [-1, 1).
let direction (r: Random) (x: Tensor) = randomTensor r -1.0 1.0 x.Shape

// ---- the laws ------------------------------------------------------------------------------

/// jvp's primal is the primitive's output, and its tangent is the derivative along `v`
/// (central differences), or exact zeros for a zero derivative.
let jvpLaw: Law =
    fun r app ->
        let x = app.Point
        let v = direction r x
        let y, t = jvp app.Apply x v
        assertClose "jvp's primal vs the primitive's output" rounding (app.Apply x) y

        if app.ZeroDerivative then
            assertZeros "jvp tangent" y.Shape t
        else
            assertClose "jvp tangent vs central differences" finiteDifference (centralDifference app.Apply x v) t

        if t.DType <> Float64 then
            failwithf "jvp tangent has dtype %O, expected float64" t.DType

/// ⟨u, J v⟩ = ⟨Jᵀ u, v⟩: the pullback is the transpose of the pushforward.
let vjpLaw: Law =
    fun r app ->
        let x = app.Point
        let v = direction r x
        let y, pullback = vjp app.Apply x
        let u = randomTensor r -1.0 1.0 y.Shape
        let ct = pullback u
        let _, t = jvp app.Apply x v

        if ct.Shape <> x.Shape || ct.DType <> Float64 then
            failwithf "the cotangent has aval %O but the operand has aval %O" ct.Aval x.Aval

        if app.ZeroDerivative then
            assertZeros "vjp cotangent" x.Shape ct
        else
            let left, right = inner u t, inner ct v
            let scale = (abs left + abs right) / 2.0

            if abs (left - right) > 1e-10 * (1.0 + scale) then
                failwithf
                    "⟨u, J v⟩ = %s but ⟨Jᵀ u, v⟩ = %s\n  u = %s\n  v = %s\n  J v = %s\n  Jᵀ u = %s"
                    (showFloat left)
                    (showFloat right)
                    (describeTensor u)
                    (describeTensor v)
                    (describeTensor t)
                    (describeTensor ct)

/// jacfwd = jacrev, of shape `out.shape ++ in.shape`, and the Jacobian times `v` is jvp's
/// tangent (so the layout, not only the two modes' agreement, is checked).
let jacobianLaw: Law =
    fun r app ->
        let x = app.Point
        let y = app.Apply x
        let forward, reverse = jacfwd app.Apply x, jacrev app.Apply x
        let shape = Array.append y.Shape x.Shape
        // Jacobians are float64 whatever the output's dtype (a bool output has zero derivative)
        Assert.Equal(Float64, Tensor.dtype forward)
        Assert.Equal(Float64, Tensor.dtype reverse)

        if app.ZeroDerivative then
            assertZeros "jacfwd" shape forward
            assertZeros "jacrev" shape reverse
        else
            assertClose "jacrev vs jacfwd" rounding forward reverse
            let v = direction r x
            let _, t = jvp app.Apply x v
            assertClose "jacfwd · v vs jvp" rounding t (contract forward v)

/// The scalar `g x = Σ w · prim(..x..)` with fixed random weights `w` of the output's shape
/// (a non-float output is converted first; its derivative is zero anyway).
let scalarized (r: Random) (app: Application) =
    let y = app.Apply app.Point
    let w = randomTensor r -1.0 1.0 y.Shape
    fun x -> Tensor.sum (w * Tensor.convert Float64 (app.Apply x))

/// Second order for a zero derivative: the gradient and the Hessian are exact zeros.
let private zeroSecondOrder (g: Tensor -> Tensor) (x: Tensor) =
    assertZeros "grad" x.Shape (grad g x)
    assertZeros "grad (grad)" x.Shape (grad (fun x -> Tensor.sum (grad g x)) x)
    assertZeros "hessian" (Array.append x.Shape x.Shape) (hessian g x)

/// The Hessian of `g` times `v` is the derivative of `grad g` along `v` (central differences).
let hessianLaw: Law =
    fun r app ->
        let g = scalarized r app
        let x = app.Point

        if app.ZeroDerivative then
            zeroSecondOrder g x
        else
            let v = direction r x
            let h = hessian g x

            if h.Shape <> Array.append x.Shape x.Shape then
                failwithf
                    "hessian has shape %s, expected %s"
                    (showShape h.Shape)
                    (showShape (Array.append x.Shape x.Shape))

            assertClose
                "hessian · v vs central differences of grad"
                finiteDifference
                (centralDifference (grad g) x v)
                (contract h v)

/// hvp g x v (forward over reverse, no Hessian formed) and the gradient of ⟨grad g x, v⟩
/// (reverse over reverse) are the Hessian times `v`.
let hvpLaw: Law =
    fun r app ->
        let g = scalarized r app
        let x = app.Point

        if app.ZeroDerivative then
            assertZeros "hvp" x.Shape (hvp g x (direction r x))
        else
            let v = direction r x
            let hv = contract (hessian g x) v
            assertClose "hvp vs hessian · v" rounding hv (hvp g x v)
            // reverse over reverse: grad ⟨grad g x, v⟩ = Hᵀ v = H v
            assertClose "grad (grad g · v) vs hessian · v" rounding hv (grad (fun x -> Tensor.sum (grad g x * v)) x)

/// The Hessian of a scalar function is symmetric.
let symmetryLaw: Law =
    fun r app ->
        let g = scalarized r app
        let x = app.Point
        let h = hessian g x
        let n = x.Size
        let hs = values h

        let transposed =
            tensorOf h.Shape (Array.init (n * n) (fun k -> hs.[(k % n) * n + k / n]))

        assertClose "hessian vs its transpose" rounding h transposed

// ---- one test per law, over the whole rules table -------------------------------------------

[<Fact>]
let ``every primitive in the rules table has a sampling domain`` () =
    let missing =
        Table.primitives
        |> List.filter (fun p -> (Domains.tryFind p).IsNone)
        |> List.map (fun p -> p.Name)

    Assert.True(missing.IsEmpty, sprintf "primitives without a domain: %s" (String.concat ", " missing))

[<Fact>]
let ``jvp agrees with central differences`` () = checkEveryPrimitive jvpLaw

[<Fact>]
let ``vjp is the transpose of jvp`` () = checkEveryPrimitive vjpLaw

[<Fact>]
let ``jacfwd agrees with jacrev`` () = checkEveryPrimitive jacobianLaw

[<Fact>]
let ``hessian agrees with central differences of grad`` () = checkEveryPrimitive hessianLaw

[<Fact>]
let ``hvp agrees with hessian times a vector`` () = checkEveryPrimitive hvpLaw

[<Fact>]
let ``hessian is symmetric`` () = checkEveryPrimitive symmetryLaw

// ---- a user-defined primitive ----------------------------------------------------------------

/// The scale of the smooth clip.
let clipScale = 1.5

/// A smooth clip `c · tanh (x / c)`, defined by the user with its own JVP rule:
/// d/dx c tanh(x/c) = 1 - tanh²(x/c) = 1 - (y/c)².
let smoothClip =
    Primitive.define
        "smooth_clip"
        (fun xs -> clipScale * tanh (xs.[0] / clipScale))
        (fun avals -> avals.[0])
        (fun _ ts y -> ts.[0] * (1.0 - (y / clipScale) * (y / clipScale)))
        None

let clip (x: Tensor) = Primitive.apply smoothClip [ x ]

/// Domain of a user primitive of one real operand of any shape up to rank 3.
let realDomain = unaryOn (fun r shape -> uniform r -3.0 3.0 shape)

let private everyLaw =
    [
        "jvp", jvpLaw
        "vjp", vjpLaw
        "jacobian", jacobianLaw
        "hessian", hessianLaw
        "hvp", hvpLaw
        "symmetry", symmetryLaw
    ]

[<Fact>]
let ``a user-defined smooth clip has analytic first and second derivatives`` () =
    let points = [| -3.0; -0.7; 0.0; 0.4; 2.2 |]
    let sech2 x = 1.0 / (cosh (x / clipScale) ** 2.0)
    let x = Tensor.ofArray points

    assertClose
        "smooth_clip values"
        rounding
        (tensorOf [| 5 |] (points |> Array.map (fun p -> clipScale * Math.Tanh(p / clipScale))))
        (clip x)
    // d/dx c tanh(x/c) = sech²(x/c)
    assertClose "grad" rounding (tensorOf [| 5 |] (Array.map sech2 points)) (grad (fun x -> Tensor.sum (clip x)) x)

    for p in points do
        // d²/dx² c tanh(x/c) = -(2/c) tanh(x/c) sech²(x/c)
        let expected = -(2.0 / clipScale) * Math.Tanh(p / clipScale) * sech2 p

        assertCloseFloat
            (sprintf "grad (grad clip) at %g" p)
            rounding
            expected
            (float (grad (grad clip) (Tensor.scalar p)))

let private assertEveryLaw (prim: Primitive) (domain: Domain) =
    for name, law in everyLaw do
        match checkLaw law prim domain with
        | Some failure -> failwithf "law %s: %s" name failure
        | None -> ()

[<Fact>]
let ``a user-defined smooth clip obeys every law`` () = assertEveryLaw smoothClip realDomain

/// hypot(x, y) = √(x² + y²), a user primitive of two operands: its JVP rule receives zeros
/// for the operand that is not differentiated. d hypot = (x dx + y dy) / hypot.
let private hypot =
    Primitive.define
        "hypot"
        (fun xs -> sqrt (xs.[0] * xs.[0] + xs.[1] * xs.[1]))
        (fun avals -> avals.[0])
        (fun xs ts h -> (xs.[0] * ts.[0] + xs.[1] * ts.[1]) / h)
        None

/// 3x, a linear user primitive with its own transpose rule: its JVP applies the primitive to
/// the tangent, so reverse mode goes through the user's transpose rule.
let triple: Primitive =
    let self = ref null

    self.Value <-
        Primitive.define
            "triple"
            (fun xs -> 3.0 * xs.[0])
            (fun avals -> avals.[0])
            (fun _ ts _ -> Primitive.apply self.Value [ ts.[0] ])
            (Some(fun ct _ -> [| ValueSome(3.0 * ct) |]))

    self.Value

[<Fact>]
let ``a user-defined primitive of two operands obeys every law`` () =
    let positive r shape = uniform r 0.5 2.0 shape
    // equal shapes only: the impl's ops would broadcast, the shape rule would not
    let domain =
        {
            Sample =
                fun r ->
                    let shape = randomShape r 3
                    [| positive r shape; positive r shape |], Params.Empty
            ZeroDerivative = false
        }

    assertEveryLaw hypot domain
    // ∂/∂x hypot(3, 4) = 3/5, ∂/∂y = 4/5
    let x = Tensor.ofArray [| 3.0; 4.0 |]
    let h (v: Tensor) = Primitive.apply hypot [ v.[0]; v.[1] ]
    assertClose "grad hypot" rounding (Tensor.ofArray [| 0.6; 0.8 |]) (grad h x)

[<Fact>]
let ``a linear user-defined primitive with its own transpose rule obeys every law`` () =
    assertEveryLaw triple realDomain

    assertClose
        "grad Σ triple"
        rounding
        (Tensor.ofArray [| 3.0; 3.0 |])
        (grad (fun x -> Tensor.sum (Primitive.apply triple [ x ])) (Tensor.ofArray [| 1.0; -2.0 |]))

// ---- the laws can fail: deliberately wrong rules are caught ------------------------------------

/// sin with the JVP rule of cos: wrong at first order.
let private wrongSin =
    Primitive.define
        "wrong_sin"
        (fun xs -> sin xs.[0])
        (fun avals -> avals.[0])
        (fun xs ts _ -> ts.[0] * -(sin xs.[0]))
        None

/// sin whose derivative cos x is hidden from differentiation: right at first order, zero at
/// second order.
let private frozenSin =
    Primitive.define
        "frozen_sin"
        (fun xs -> sin xs.[0])
        (fun avals -> avals.[0])
        (fun xs ts _ -> ts.[0] * Tensor.stopGradient (cos xs.[0]))
        None

/// `2x` whose JVP applies the primitive itself to the tangent, with a transpose rule that
/// (wrongly) triples the cotangent.
let private wrongDouble: Primitive =
    // the JVP rule refers to the primitive being defined
    let self = ref null

    self.Value <-
        Primitive.define
            "wrong_double"
            (fun xs -> 2.0 * xs.[0])
            (fun avals -> avals.[0])
            (fun _ ts _ -> Primitive.apply self.Value [ ts.[0] ])
            (Some(fun ct _ -> [| ValueSome(3.0 * ct) |]))

    self.Value

/// x₀ x₁ on a 2-vector, with a JVP rule whose second derivative is asymmetric
/// (t₀ x₁ + stopGradient(x₀) t₁: the Hessian comes out as [[0, 1], [0, 0]]).
let private asymmetricProduct =
    Primitive.define
        "asymmetric_product"
        (fun xs -> xs.[0].[0] * xs.[0].[1])
        (fun _ -> Aval([||], Float64))
        (fun xs ts _ -> ts.[0].[0] * xs.[0].[1] + Tensor.stopGradient xs.[0].[0] * ts.[0].[1])
        None

let private pairDomain =
    {
        Sample = (fun r -> [| uniform r -2.0 2.0 [| 2 |] |], Params.Empty)
        ZeroDerivative = false
    }

let private assertCaught (law: Law) (prim: Primitive) (domain: Domain) =
    match checkLaw law prim domain with
    | None -> failwithf "the law did not catch the wrong rule of %s" prim.Name
    | Some failure -> Assert.Contains(prim.Name, failure)

[<Fact>]
let ``the laws catch wrong rules`` () =
    assertCaught jvpLaw wrongSin realDomain
    assertCaught hessianLaw frozenSin realDomain
    assertCaught vjpLaw wrongDouble realDomain
    assertCaught jacobianLaw wrongDouble realDomain
    assertCaught symmetryLaw asymmetricProduct pairDomain
    assertCaught hessianLaw asymmetricProduct pairDomain
    // a zero-derivative claim is checked too: sin's derivative is not zero
    assertCaught
        jvpLaw
        (sinP)
        { realDomain with
            ZeroDerivative = true
        }
