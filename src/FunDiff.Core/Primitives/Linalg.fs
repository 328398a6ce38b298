// Room: dot_general (rules in Rules/Linalg.fs).
namespace FunDiff.Primitives

open FunDiff
open FunDiff.Backend
open FunDiff.ShapeRules
open FunDiff.Primitives.Kit

/// The linear-algebra primitives: dot_general (JAX's general contraction).
/// Declared per family, as their rules are (`Rules/Linalg.fs`); opening `FunDiff.Primitives`
/// opens every family. Named `Contraction`, not `Linalg`: `FunDiff.Linalg` is the public
/// numpy.linalg-style module.
[<AutoOpen>]
module Contraction =

    /// dot_general(lhs, rhs): contracts `lhs_contracting` with `rhs_contracting` and pairs
    /// `lhs_batch` with `rhs_batch`; the result's axes are batch ++ lhs free ++ rhs free.
    let dotGeneralP =
        builtin
            "dot_general"
            (fun xs p ->
                [|
                    DotGeneral.apply
                        (p.Ints "lhs_contracting")
                        (p.Ints "rhs_contracting")
                        (p.Ints "lhs_batch")
                        (p.Ints "rhs_batch")
                        xs.[0]
                        xs.[1]
                |])
            (fun avals p ->
                arity "dot_general" 2 avals
                let l, r = avals.[0], avals.[1]

                let lc, rc, lb, rb =
                    p.Ints "lhs_contracting", p.Ints "rhs_contracting", p.Ints "lhs_batch", p.Ints "rhs_batch"

                if l.DType <> r.DType then
                    fail "dot_general: dtypes %O and %O differ." l r

                if lc.Length <> rc.Length || lb.Length <> rb.Length then
                    fail "dot_general: %A contracting / %A batch dimensions do not pair with %A / %A." lc lb rc rb

                let check (axes: int[]) (a: Aval) =
                    for ax in axes do
                        if ax < 0 || ax >= a.Rank then
                            fail "dot_general: axis %d is out of range for %O." ax a

                    if (Array.distinct axes).Length <> axes.Length then
                        fail "dot_general: repeated axis in %A." axes

                check (Array.append lc lb) l
                check (Array.append rc rb) r

                for (la, ra) in Array.zip (Array.append lc lb) (Array.append rc rb) do
                    if l.Shape.[la] <> r.Shape.[ra] then
                        fail
                            "dot_general: dimension %d of %s (size %d) does not match dimension %d of %s (size %d)."
                            la
                            (Shape.show l.Shape)
                            l.Shape.[la]
                            ra
                            (Shape.show r.Shape)
                            r.Shape.[ra]

                let free (a: Aval) (used: int[]) =
                    Shape.complementAxes a.Rank used |> Array.map (fun k -> a.Shape.[k])

                let shape =
                    Array.concat
                        [
                            lb |> Array.map (fun k -> l.Shape.[k])
                            free l (Array.append lc lb)
                            free r (Array.append rc rb)
                        ]

                [| Aval(shape, l.DType) |])
