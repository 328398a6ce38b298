/// Rules of the factorization primitives (Primitives/Factorizations.fs). Every JVP is written
/// with ops (batched matrix products, triangular solves, masks), so it is differentiable again;
/// the formulas are Giles' ("Collected matrix derivative results for forward and reverse mode
/// AD"), Murray's for Cholesky and Seeger et al.'s ("Auto-differentiating linear algebra") for
/// qr, eigh and svd, as JAX writes them. solve and triangular_solve are linear in b and
/// transpose to a solve with the transposed matrix. Every batch rule moves vmap's axis in
/// front: the kernels loop over leading axes.
module internal FunDiff.Rules.Factorizations

open FunDiff
open FunDiff.Backend
open FunDiff.Primitives
open FunDiff.Rules.RuleKit

// ---- batched matrix helpers (operands [..., m, n] with equal leading axes) ----------------

/// x @ y over the last two axes, the leading axes paired.
let mm (x: Tensor) (y: Tensor) =
    let r = x.Rank
    let batch = Array.init (r - 2) id
    Prim.dotGeneral [| r - 1 |] [| r - 2 |] batch batch x y

/// The transpose of each matrix (the last two axes swapped).
let mT (x: Tensor) =
    let r = x.Rank

    Prim.transpose
        (Array.init r (fun k ->
            if k = r - 2 then r - 1
            elif k = r - 1 then r - 2
            else k))
        x

/// A constant n×m matrix with entries f i j (it broadcasts against any stack of them).
let constant (rows: int) (cols: int) (f: int -> int -> float) =
    Prim.ofArray (NDArray.ofData [| rows; cols |] Float64 (Array.init (rows * cols) (fun p -> f (p / cols) (p % cols))))

/// The identity as a constant n×n matrix.
let eye (n: int) =
    constant n n (fun i j -> if i = j then 1.0 else 0.0)

let private lastTwo (x: Tensor) =
    x.Aval.Shape.[x.Rank - 2], x.Aval.Shape.[x.Rank - 1]

/// The entries with j − i ≤ k (k = 0: the lower triangle), the others zero, as a mask product.
let lowerMask (k: int) (x: Tensor) =
    let rows, cols = lastTwo x
    x * constant rows cols (fun i j -> if j - i <= k then 1.0 else 0.0)

/// The entries with j − i ≥ k (k = 0: the upper triangle), the others zero.
let upperMask (k: int) (x: Tensor) =
    let rows, cols = lastTwo x
    x * constant rows cols (fun i j -> if j - i >= k then 1.0 else 0.0)

/// The diagonal of each square matrix: shape [..., n].
let diagonal (x: Tensor) =
    let n, _ = lastTwo x
    Prim.sumAxes [| x.Rank - 1 |] (x * eye n)

/// The trace of each square matrix: shape [...].
let trace (x: Tensor) =
    Prim.sumAxes [| x.Rank - 2; x.Rank - 1 |] (x * eye (fst (lastTwo x)))

/// The symmetric part (x + xᵀ)/2, which the symmetric kernels (cholesky, eigh) decompose.
let symmetric (x: Tensor) = (x + mT x) * 0.5

let solve (a: Tensor) (b: Tensor) =
    Interpreter.Bind1(solveP, [| a; b |], Params.Empty)

let triangularParams (lower: bool) (transpose: bool) =
    Params
        [|
            "lower", Int(if lower then 1 else 0)
            "transpose", Int(if transpose then 1 else 0)
        |]

let triangularSolve (lower: bool) (transpose: bool) (a: Tensor) (b: Tensor) =
    Interpreter.Bind1(triangularSolveP, [| a; b |], triangularParams lower transpose)

// ---- rules ------------------------------------------------------------------------------

/// The batch rule of every factorization: batched operands get vmap's axis in front,
/// unbatched ones are broadcast there; every output is batched along axis 0.
let private leading (prim: Primitive) : BatchRule =
    fun xs axes pars ->
        let outs = Interpreter.Bind(prim, BatchKit.allInFront xs axes, pars)
        outs, Array.create outs.Length (ValueSome 0)

let private only (ts: Tensor voption[]) (f: Tensor -> Tensor voption[]) (outputs: int) =
    match ts.[0] with
    | ValueSome da -> f da
    | ValueNone -> Array.create outputs ValueNone

// x = a⁻¹ b: dx = a⁻¹ (db − da x)
let private solveRules =
    jvpOnly (fun xs ts _ ys ->
        let a, x = xs.[0], ys.[0]

        let rhs =
            match ts.[0], ts.[1] with
            | ValueSome da, ValueSome db -> ValueSome(db - mm da x)
            | ValueSome da, ValueNone -> ValueSome(-(mm da x))
            | ValueNone, db -> db

        [| rhs |> ValueOption.map (solve a) |])
    |> withTranspose (fun cts args _ ->
        match args.[0], args.[1] with
        | Known a, Linear _ -> [| ValueNone; ValueSome(solve (mT a) cts.[0]) |]
        | _ -> notLinear "solve")

// x = op(T)⁻¹ b, T the triangle the kernel reads: dx = op(T)⁻¹ (db − op(dT) x)
let private triangularSolveRules =
    jvpOnly (fun xs ts pars ys ->
        let lower, transpose = pars.Int "lower" = 1, pars.Int "transpose" = 1
        let a, x = xs.[0], ys.[0]

        let opTangent (da: Tensor) =
            let dt = if lower then lowerMask 0 da else upperMask 0 da
            mm (if transpose then mT dt else dt) x

        let rhs =
            match ts.[0], ts.[1] with
            | ValueSome da, ValueSome db -> ValueSome(db - opTangent da)
            | ValueSome da, ValueNone -> ValueSome(-(opTangent da))
            | ValueNone, db -> db

        [| rhs |> ValueOption.map (triangularSolve lower transpose a) |])
    |> withTranspose (fun cts args pars ->
        match args.[0], args.[1] with
        | Known a, Linear _ ->
            let lower, transpose = pars.Int "lower" = 1, pars.Int "transpose" = 1
            [| ValueNone; ValueSome(triangularSolve lower (not transpose) a cts.[0]) |]
        | _ -> notLinear "triangular_solve")

// d(a⁻¹) = −a⁻¹ da a⁻¹
let private invRules =
    jvpOnly (fun _ ts _ ys -> only ts (fun da -> [| ValueSome(-(mm (mm ys.[0] da) ys.[0])) |]) 1)

// d det a = det a · tr(a⁻¹ da)
let private detRules =
    jvpOnly (fun xs ts _ ys -> only ts (fun da -> [| ValueSome(ys.[0] * trace (solve xs.[0] da)) |]) 1)

// the sign is piecewise constant; d log|det a| = tr(a⁻¹ da)
let private slogdetRules =
    jvpOnly (fun xs ts _ _ -> only ts (fun da -> [| ValueNone; ValueSome(trace (solve xs.[0] da)) |]) 2)

// L = chol(sym a): dL = L Φ(L⁻¹ sym(da) L⁻ᵀ), Φ the lower triangle with the diagonal halved
let private choleskyRules =
    jvpOnly (fun _ ts _ ys ->
        only
            ts
            (fun da ->
                let l = ys.[0]
                let n, _ = lastTwo l
                let z = triangularSolve true false l (symmetric da) // L⁻¹ S
                let w = triangularSolve true false l (mT z) // L⁻¹ S L⁻ᵀ (S symmetric)

                let phi =
                    w
                    * constant n n (fun i j ->
                        if i > j then 1.0
                        elif i = j then 0.5
                        else 0.0)

                [| ValueSome(mm l phi) |])
            1)

/// 1/(d_j − d_i) off the diagonal and 0 on it, for a vector d per matrix ([..., n]): written
/// with ops from d, so second derivatives see it. Non-finite at repeated values.
let private inverseGaps (d: Tensor) (gap: Tensor -> Tensor -> Tensor) =
    let n = d.Aval.Shape.[d.Rank - 1]
    let row = Prim.expandDims (d.Rank - 1) d // [..., 1, n]: d_j
    let col = Prim.expandDims d.Rank d // [..., n, 1]: d_i
    let i = eye n
    (1.0 - i) / (gap row col + i)

// w, V = eigh(sym a): C = Vᵀ S V; dw = diag C; dV = V (F ∘ C), F_ij = 1/(w_j − w_i)
let private eighRules =
    jvpOnly (fun _ ts _ ys ->
        only
            ts
            (fun da ->
                let w, v = ys.[0], ys.[1]
                let c = mm (mT v) (mm (symmetric da) v)
                let f = inverseGaps w (fun row col -> row - col)
                [| ValueSome(diagonal c); ValueSome(mm v (f * c)) |])
            2)

// reduced QR with m ≥ n (JAX's qr_jvp_rule): with X = Qᵀ dA R⁻¹ and Ω = tril(X, −1) −
// tril(X, −1)ᵀ, dQ = Q (Ω − X) + dA R⁻¹ and dR = (X − Ω) R
let private qrTall (q: Tensor) (r: Tensor) (da: Tensor) =
    let daRinv = mT (triangularSolve false true r (mT da)) // dA R⁻¹
    let x = mm (mT q) daRinv
    let low = lowerMask -1 x
    let omega = low - mT low
    mm q (omega - x) + daRinv, mm (x - omega) r

// m < n: A = [X | Y] with X its leading m×m block, so Q, R_X = qr(X) and R = [R_X | Qᵀ Y]:
// dQ and dR_X are the square rule's for dX, and dR_Y = dQᵀ Y + Qᵀ dY
let private qrWide (q: Tensor) (r: Tensor) (a: Tensor) (da: Tensor) =
    let m, n = lastTwo da
    let last = da.Rank - 1
    let dq, drx = qrTall q (Prim.sliceAxis last 0 m r) (Prim.sliceAxis last 0 m da)
    let y, dy = Prim.sliceAxis last m n a, Prim.sliceAxis last m n da
    dq, Prim.concatenate last [| drx; mm (mT dq) y + mm (mT q) dy |]

let private qrRules =
    jvpOnly (fun xs ts _ ys ->
        only
            ts
            (fun da ->
                let q, r = ys.[0], ys.[1]
                let m, n = lastTwo da

                let dq, dr = if m < n then qrWide q r xs.[0] da else qrTall q r da

                [| ValueSome dq; ValueSome dr |])
            2)

// reduced SVD (JAX's svd_jvp_rule, real case): dS = Uᵀ dA V, ds = diag dS, F_ij =
// 1/(s_j² − s_i²); dU = U (F ∘ (dS S + S dSᵀ)) (+ the part outside U's span when m > n),
// dV = V (F ∘ (S dS + dSᵀ S)) (+ the part outside V's span when n > m)
let private svdRules =
    jvpOnly (fun _ ts _ ys ->
        only
            ts
            (fun da ->
                let u, s, vt = ys.[0], ys.[1], ys.[2]
                let m, n = lastTwo da
                let v = mT vt
                let ds = mm (mT u) (mm da v)
                let sRow = Prim.expandDims (s.Rank - 1) s // [..., 1, k]
                let sCol = Prim.expandDims s.Rank s // [..., k, 1]
                let f = inverseGaps s (fun row col -> (row + col) * (row - col))
                let dss, sds = sRow * ds, sCol * ds
                let mutable du = mm u (f * (dss + mT dss))
                let mutable dv = mm v (f * (sds + mT sds))

                if m > n then
                    let dav = mm da v
                    du <- du + (dav - mm u (mm (mT u) dav)) / sRow

                if n > m then
                    let dau = mm (mT da) u
                    dv <- dv + (dau - mm v (mm vt dau)) / sRow

                [| ValueSome du; ValueSome(diagonal ds); ValueSome(mT dv) |])
            3)

/// The family's entries for the rules table.
let rules =
    [
        solveP, solveRules
        triangularSolveP, triangularSolveRules
        invP, invRules
        detP, detRules
        slogdetP, slogdetRules
        choleskyP, choleskyRules
        eighP, eighRules
        qrP, qrRules
        svdP, svdRules
    ]
    |> List.map (fun (prim, rules) -> prim, withBatch (leading prim) rules)
