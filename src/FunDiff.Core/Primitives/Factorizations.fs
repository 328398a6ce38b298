// Room: the matrix-factorization primitives of the public Linalg module (rules in Rules/Factorizations.fs).
namespace FunDiff.Primitives

open FunDiff
open FunDiff.Backend
open FunDiff.ShapeRules
open FunDiff.Primitives.Kit

/// The primitives of `Linalg`: solve, inv, det, slogdet, cholesky, triangular_solve, qr, eigh
/// and svd. Each takes a stack of matrices (the last two axes; leading axes are a batch, as in
/// NumPy) and its kernel loops over the batch, so every batch rule moves vmap's axis in front.
[<AutoOpen>]
module Factorizations =

    let private float64 (name: string) (a: Aval) =
        if a.DType <> Float64 then
            fail "%s: expects a float64 tensor, got %O. Convert it first with Tensor.convert Float64." name a

    /// A stack of matrices: rank ≥ 2, float64.
    let private matrices (name: string) (a: Aval) =
        float64 name a

        if a.Rank < 2 then
            fail
                "%s: expects a matrix or a stack of matrices (rank 2 or more), got shape %s. Reshape it, e.g. Tensor.reshape [| n; n |]."
                name
                (Shape.show a.Shape)

        a.Shape.[a.Rank - 2], a.Shape.[a.Rank - 1]

    /// A stack of square matrices: its size n.
    let private square (name: string) (a: Aval) =
        let rows, cols = matrices name a

        if rows <> cols then
            fail
                "%s: expects square matrices, got shape %s (%d×%d). Use Linalg.lstsq or Linalg.pinv for a non-square system."
                name
                (Shape.show a.Shape)
                rows
                cols

        rows

    let private batchOf (a: Aval) = a.Shape.[.. a.Rank - 3]

    let private aval (shape: int[]) = Aval(shape, Float64)

    /// A system a x = b: a a stack of n×n matrices, b of n×k ones with the same leading axes.
    let private system (name: string) (avals: Aval[]) =
        arity name 2 avals
        let a, b = avals.[0], avals.[1]
        let n = square name a
        let rows, _ = matrices name b

        if b.Rank <> a.Rank || not (Shape.equal (batchOf a) (batchOf b)) || rows <> n then
            fail
                "%s: the right-hand side of shape %s does not fit the matrix of shape %s: it needs shape %s (the matrix's leading axes, %d rows, any number of columns). Reshape it, or broadcast the leading axes (Tensor.broadcastTo)."
                name
                (Shape.show b.Shape)
                (Shape.show a.Shape)
                (Shape.show (Array.append (batchOf a) [| n; -1 |]))
                n

        [| b |]

    /// solve(a, b): x with a x = b (LU with partial pivoting); b is n×k per matrix.
    let solveP =
        builtin "solve" (fun xs _ -> [| Factor.solve "solve" xs.[0] xs.[1] |]) (fun avals _ -> system "solve" avals)

    /// inv(a): the inverse of each matrix.
    let invP =
        builtin "inv" (fun xs _ -> [| Factor.inv xs.[0] |]) (fun avals _ ->
            arity "inv" 1 avals
            square "inv" avals.[0] |> ignore
            [| avals.[0] |])

    /// det(a): the determinant of each matrix (shape: the leading axes).
    let detP =
        builtin "det" (fun xs _ -> [| Factor.det xs.[0] |]) (fun avals _ ->
            arity "det" 1 avals
            square "det" avals.[0] |> ignore
            [| aval (batchOf avals.[0]) |])

    /// slogdet(a): two outputs, the sign of each determinant and the log of its absolute value.
    let slogdetP =
        builtin
            "slogdet"
            (fun xs _ ->
                let s, l = Factor.slogdet xs.[0]
                [| s; l |])
            (fun avals _ ->
                arity "slogdet" 1 avals
                square "slogdet" avals.[0] |> ignore
                [| aval (batchOf avals.[0]); aval (batchOf avals.[0]) |])

    /// cholesky(a): the lower factor L of each symmetric positive-definite matrix (a = L Lᵀ).
    let choleskyP =
        builtin "cholesky" (fun xs _ -> [| Factor.cholesky xs.[0] |]) (fun avals _ ->
            arity "cholesky" 1 avals
            square "cholesky" avals.[0] |> ignore
            [| avals.[0] |])

    /// triangular_solve(a, b)[lower, transpose]: x with op(T) x = b, T the lower (lower = 1) or
    /// upper triangle of a, op(T) = Tᵀ when transpose = 1.
    let triangularSolveP =
        builtin
            "triangular_solve"
            (fun xs p ->
                [|
                    Factor.triangularSolve (p.Int "lower" = 1) (p.Int "transpose" = 1) xs.[0] xs.[1]
                |])
            (fun avals _ -> system "triangular_solve" avals)

    /// qr(a): the reduced QR, two outputs q (m×k) and r (k×n), k = min(m, n), r's diagonal ≥ 0.
    let qrP =
        builtin
            "qr"
            (fun xs _ ->
                let q, r = Factor.qr xs.[0]
                [| q; r |])
            (fun avals _ ->
                arity "qr" 1 avals
                let m, n = matrices "qr" avals.[0]
                let b = batchOf avals.[0]
                let k = min m n
                [| aval (Array.append b [| m; k |]); aval (Array.append b [| k; n |]) |])

    /// eigh(a): two outputs, the eigenvalues (ascending) and eigenvectors (columns) of each
    /// symmetric matrix (its symmetric part is decomposed).
    let eighP =
        builtin
            "eigh"
            (fun xs _ ->
                let w, v = Factor.eigh xs.[0]
                [| w; v |])
            (fun avals _ ->
                arity "eigh" 1 avals
                let n = square "eigh" avals.[0]
                [| aval (Array.append (batchOf avals.[0]) [| n |]); avals.[0] |])

    /// svd(a): the reduced SVD, three outputs u (m×k), s (k, descending) and vt (k×n).
    let svdP =
        builtin
            "svd"
            (fun xs _ ->
                let u, s, vt = Factor.svd xs.[0]
                [| u; s; vt |])
            (fun avals _ ->
                arity "svd" 1 avals
                let m, n = matrices "svd" avals.[0]
                let b = batchOf avals.[0]
                let k = min m n

                [|
                    aval (Array.append b [| m; k |])
                    aval (Array.append b [| k |])
                    aval (Array.append b [| k; n |])
                |])
