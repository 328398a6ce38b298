/// einsum and tensordot: 24 subscript strings against a reference that sums over every index
/// assignment with explicit loops; broadcast axes; derivatives (finite differences, an exact
/// Hessian), vmap and jit through them; errors naming einsum and the subscripts.
module FunDiff.Tests.EinsumTests

open System
open Xunit
open FunDiff
open FunDiff.Tests.Harness

let private r = Random 20261203

/// einsum by definition: for every assignment of the letters, the product of the operands'
/// elements added into the output's element (explicit output, letters only).
let private reference (subscripts: string) (xs: Tensor list) : float[] * int[] =
    let parts = subscripts.Split "->"
    let terms = parts.[0].Split ','
    let output = parts.[1]
    let xs = Array.ofList xs
    let size = Collections.Generic.Dictionary<char, int>()

    Array.iteri (fun i (term: string) -> term |> Seq.iteri (fun k c -> size.[c] <- xs.[i].Shape.[k])) terms

    let letters = size.Keys |> Array.ofSeq
    let outShape = output |> Seq.map (fun c -> size.[c]) |> Array.ofSeq
    let result = Array.zeroCreate (Array.fold (*) 1 outShape)
    let values = xs |> Array.map Tensor.toArray
    let value = Collections.Generic.Dictionary<char, int>()

    let flat (term: string) (shape: int[]) =
        let mutable at = 0

        for k in 0 .. term.Length - 1 do
            at <- at * shape.[k] + value.[term.[k]]

        at

    let rec assign (k: int) =
        if k = letters.Length then
            let mutable product = 1.0

            for i in 0 .. terms.Length - 1 do
                product <- product * values.[i].[flat terms.[i] xs.[i].Shape]

            let at = flat output outShape
            result.[at] <- result.[at] + product
        else
            for v in 0 .. size.[letters.[k]] - 1 do
                value.[letters.[k]] <- v
                assign (k + 1)

    assign 0
    result, outShape

/// Random operands for the terms of `subscripts`, with letter sizes 2, 3, 4, ...
let private operandsFor (subscripts: string) =
    let terms = (subscripts.Split "->").[0].Split ','
    let letters = terms |> String.concat "" |> Seq.distinct |> Array.ofSeq
    let size c = 2 + Array.IndexOf(letters, c) % 3

    [
        for term in terms -> randomTensor r -1.0 1.0 (term |> Seq.map size |> Array.ofSeq)
    ]

let private cases =
    [
        "ij,jk->ik"
        "ij->ji"
        "ii->i"
        "ii->"
        "ij->"
        "ij->i"
        "ij->j"
        "ij,ij->ij"
        "ij,ij->"
        "i,i->"
        "i,j->ij"
        "ij,j->i"
        "bij,bjk->bik"
        "ijk->kji"
        "iij->ij"
        "iji->j"
        "ij,jk,kl->il"
        "ab,bc,cd,de->ae"
        "i,i,i->i"
        "ijk,ik->j"
        "ba,cb->ac"
        "ii,i->i"
        "ij,kl->ijkl"
        "bi,bi->b"
    ]

[<Fact>]
let ``einsum agrees with explicit loops for 24 subscript strings`` () =
    for subscripts in cases do
        let xs = operandsFor subscripts
        let expected, shape = reference subscripts xs
        let actual = Tensor.einsum subscripts xs
        Assert.Equal<int[]>(shape, actual.Shape)
        assertClose subscripts rounding (Tensor.reshape shape (Tensor.ofArray expected)) actual

[<Fact>]
let ``implicit output is the letters used once, sorted, and ellipses broadcast`` () =
    let a = randomTensor r -1.0 1.0 [| 2; 3 |]
    let b = randomTensor r -1.0 1.0 [| 3; 4 |]
    assertClose "ij,jk" rounding (Tensor.matmul a b) (Tensor.einsum "ij,jk" [ a; b ])
    // "ba" implicitly is "ba->ab": a transpose
    assertClose "ba" rounding (Tensor.transpose a) (Tensor.einsum "ba" [ Tensor.transpose a |> Tensor.transpose ])
    let sq = randomTensor r -1.0 1.0 [| 3; 3 |]
    assertClose "ii (a trace)" rounding (Tensor.trace sq) (Tensor.einsum "ii" [ sq ])

    let xs = randomTensor r -1.0 1.0 [| 5; 2; 3 |]
    let ys = randomTensor r -1.0 1.0 [| 5; 3; 4 |]
    let batched = Tensor.einsum "bij,bjk->bik" [ xs; ys ]
    assertClose "...ij,...jk->...ik" rounding batched (Tensor.einsum "...ij,...jk->...ik" [ xs; ys ])
    assertClose "...ij,...jk (implicit)" rounding batched (Tensor.einsum "...ij,...jk" [ xs; ys ])
    // a shared matrix broadcast against the batch, and a size-1 broadcast axis
    assertClose "...ij,jk->...ik" rounding (Tensor.matmul xs b) (Tensor.einsum "...ij,jk->...ik" [ xs; b ])
    let ones = Tensor.reshape [| 1; 3; 4 |] b

    assertClose
        "size-1 ellipsis axis"
        rounding
        (Tensor.einsum "...ij,...jk->...ik" [ xs; Tensor.broadcastTo [| 5; 3; 4 |] ones ])
        (Tensor.einsum "...ij,...jk->...ik" [ xs; ones ])

    assertClose "spaces are ignored" rounding (Tensor.matmul a b) (Tensor.einsum " ij , jk -> ik " [ a; b ])

[<Fact>]
let ``three operands contract the cheapest pair first and agree with the loops`` () =
    // (a·b)·v costs a 100×100 intermediate; a·(b·v) a vector: both must give the same value
    let a = randomTensor r -1.0 1.0 [| 30; 40 |]
    let b = randomTensor r -1.0 1.0 [| 40; 30 |]
    let v = randomTensor r -1.0 1.0 [| 30 |]
    let expected = Tensor.matmul a (Tensor.matmul b v)
    assertClose "ij,jk,k->i" rounding expected (Tensor.einsum "ij,jk,k->i" [ a; b; v ])
    // the lowered program contracts b with v before a (its first dot_general has v as operand)
    let p = makeIR (fun v -> Tensor.einsum "ij,jk,k->i" [ a; b; v ]) v

    let first =
        p.EquationArray |> Array.find (fun e -> e.Primitive.Name = "dot_general")

    Assert.Contains(
        first.InputArray,
        fun atom ->
            match atom with
            | Atom.Var x -> x.Aval.Shape = [| 30 |]
            | _ -> false
    )

[<Fact>]
let ``derivatives go through einsum: finite differences and an exact Hessian`` () =
    let x = randomTensor r -1.0 1.0 [| 4 |]
    let m = randomTensor r -1.0 1.0 [| 4; 4 |]
    let quadratic (x: Tensor) = Tensor.einsum "i,ij,j->" [ x; m; x ]
    // the Hessian of xᵀ M x is M + Mᵀ exactly
    assertClose "hessian" rounding (m + Tensor.transpose m) (hessian quadratic x)

    let w = randomTensor r -1.0 1.0 [| 3; 4 |]

    let f (w: Tensor) =
        Tensor.sum (Tensor.sin (Tensor.einsum "ij,jk,ik->i" [ w; m; w ]))

    let v = randomTensor r -1.0 1.0 w.Shape
    let _, tangent = jvp f w v
    assertClose "jvp vs central differences" finiteDifference (centralDifference f w v) tangent
    let _, pullback = vjp f w

    assertCloseFloat
        "vjp vs jvp"
        rounding
        (Tensor.toScalar tangent)
        (Tensor.toScalar (Tensor.sum (pullback (Tensor.scalar 1.0) * v)))

[<Fact>]
let ``einsum under vmap and jit equals its loop and its eager value`` () =
    let m = randomTensor r -1.0 1.0 [| 3; 4 |]
    let xs = randomTensor r -1.0 1.0 [| 5; 4 |]
    let f (x: Tensor) = Tensor.einsum "ij,j->i" [ m; x ]
    let batched = vmap f xs
    let loop = Tensor.stack [ for k in 0..4 -> f xs.[k] ]
    assertClose "vmap" rounding loop batched
    assertClose "jit" { Relative = 1e-13; Absolute = 1e-13 } (f xs.[0]) (jit f xs.[0])

    assertClose
        "jit (grad)"
        { Relative = 1e-13; Absolute = 1e-13 }
        (grad (f >> Tensor.sum) xs.[1])
        (jit (grad (f >> Tensor.sum)) xs.[1])

[<Fact>]
let ``tensordot pairs axes by position, as NumPy`` () =
    let a = randomTensor r -1.0 1.0 [| 3; 4; 5 |]
    let b = randomTensor r -1.0 1.0 [| 4; 3; 2 |]

    assertClose
        "axes ([1; 0], [0; 1])"
        rounding
        (Tensor.einsum "ijk,jil->kl" [ a; b ])
        (Tensor.tensordot [ 1; 0 ] [ 0; 1 ] a b)

    let c = randomTensor r -1.0 1.0 [| 4; 5; 2 |]
    assertClose "axes = 2" rounding (Tensor.einsum "ijk,jkl->il" [ a; c ]) (Tensor.tensordotN 2 a c)
    assertClose "axes = 0 (outer)" rounding (Tensor.einsum "ijk,lmn->ijklmn" [ a; c ]) (Tensor.tensordotN 0 a c)

[<Fact>]
let ``bad subscripts raise a ShapeException naming einsum and the fix`` () =
    let a = randomTensor r -1.0 1.0 [| 2; 3 |]
    let b = randomTensor r -1.0 1.0 [| 4; 5 |]

    let raisesWith (fragment: string) (f: unit -> Tensor) =
        let e = Assert.Throws<ShapeException>(fun () -> f () |> ignore)
        Assert.Contains("einsum", e.Message)
        Assert.Contains(fragment, e.Message)

    raisesWith "labels axes of sizes 3 and 4" (fun () -> Tensor.einsum "ij,jk->ik" [ a; b ])
    raisesWith "2 operand subscripts for 1 tensors" (fun () -> Tensor.einsum "ij,jk->ik" [ a ])
    raisesWith "names 3 axes but its operand has rank 2" (fun () -> Tensor.einsum "ijk->i" [ a ])
    raisesWith "appears in no operand" (fun () -> Tensor.einsum "ij->iz" [ a ])
    raisesWith "appears twice" (fun () -> Tensor.einsum "ij->ii" [ a ])
    raisesWith "is not a subscript" (fun () -> Tensor.einsum "i1->i" [ a ])
    raisesWith "labels axes of sizes 2 and 3" (fun () -> Tensor.einsum "ii->i" [ a ])

    let e =
        Assert.Throws<ShapeException>(fun () -> Tensor.tensordot [ 0 ] [ 0; 1 ] a b |> ignore)

    Assert.Contains("tensordot", e.Message)
