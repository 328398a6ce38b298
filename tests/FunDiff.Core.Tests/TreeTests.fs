/// Trees of tensors (Tree/TreeDef.fs, Tree/Tree.fs, Tree/Optim.fs): the gradient of a function
/// of a record, tuple, list, array, map, option, union, collection or class equals the gradient
/// of the same function of one concatenated vector, and comes back with the argument's type;
/// every Tree transform agrees with its oracle (central differences, the transpose law, ravel +
/// hessian); argnums and hasAux; the utilities; registered types; the errors naming the path of
/// a bad leaf; the optimizers (a hand-computed Adam step, a trained MLP); and the per-type plan
/// cache under concurrent first use. The oracles cut a flat vector into pieces with this file's
/// own `pieces`, never with `Tree.ravel`.
module FunDiff.Tests.TreeTests

open System
open System.Collections.Generic
open System.Threading
open Xunit
open FunDiff
open FunDiff.Tests.Harness

// ---- the trees under test ------------------------------------------------------------------

type Dense = { W: Tensor; B: Tensor }

/// Fields deliberately not in alphabetical order: leaves follow the declaration.
type Ordered =
    {
        Zeta: Tensor
        Alpha: Tensor
        Mid: Tensor
    }

type Scale = Scale of Tensor

type Affine = Affine of weight: Tensor * bias: Tensor

type WithOption =
    {
        Core: Tensor
        Gate: Tensor option
        Unused: Tensor option
    }

type Block =
    {
        Weights: Map<string, Tensor>
        Gain: Tensor option
    }

type Model =
    {
        Blocks: Block list
        Embedding: Tensor[]
        Head: Tensor * Tensor
    }

/// A class rebuilt through the constructor whose parameters match its properties.
type AffineClass(weight: Tensor, bias: Tensor) =
    member _.Weight = weight
    member _.Bias = bias

/// A C#-style class rebuilt through its parameterless constructor and setters.
type SettableAffine() =
    member val Weight = Unchecked.defaultof<Tensor> with get, set
    member val Bias = Unchecked.defaultof<Tensor> with get, set

type Summary = { Activations: Tensor; Energy: Tensor }

type Named = { W: Tensor; Name: string }

type Counted = { W: Tensor; Count: int }

type Layer = { W: Tensor; Extra: Map<string, obj> }

type Network = { Layers: Layer list }

type Config = { W: Tensor; Rate: float }

type Mlp =
    {
        W1: Tensor
        B1: Tensor
        W2: Tensor
        B2: Tensor
    }

// ---- helpers -------------------------------------------------------------------------------

let private scalar (v: float) = Tensor.scalar v

let private size (shape: int[]) = Array.fold (*) 1 shape

/// Cuts a flat vector into consecutive pieces of the given shapes (this file's own ravel).
let private pieces (shapes: int[] list) (flat: Tensor) : Tensor list =
    let sizes = shapes |> List.map size
    let starts = List.scan (+) 0 sizes |> List.take shapes.Length

    List.map3 (fun shape start n -> Tensor.reshape shape (Tensor.slice start (start + n) flat)) shapes starts sizes

/// Every leaf flattened and concatenated, in the order given.
let private concatenate (leaves: Tensor list) =
    Tensor.concat 0 (leaves |> List.map Tensor.flatten)

/// A scalar function that couples every leaf with every other (through `s²`) and weights each
/// leaf by its position, so a leaf that lands in the wrong place changes the gradient.
let private mix (leaves: Tensor list) =
    let s =
        leaves
        |> List.mapi (fun i t -> Tensor.sum (Tensor.sin t * float (i + 1)) + 0.5 * Tensor.sum (t * t * t))
        |> List.fold (+) (scalar 0.0)

    s + 0.1 * s * s

/// Builds a tree from pieces of a random vector, and checks that `Tree.grad (mix << read)`
/// equals `grad (mix << pieces)` on the flat vector, leaf by leaf (read back by `read`, so by
/// field name, key or position, not by `Tree.leaves`). Returns the tree and its gradient.
let private gradMatchesFlat (seed: int) (shapes: int[] list) (build: Tensor list -> 'T) (read: 'T -> Tensor list) =
    let flat = randomTensor (Random seed) -1.0 1.0 [| shapes |> List.sumBy size |]
    let x = build (pieces shapes flat)
    let g = Tree.grad (fun p -> mix (read p)) x
    let expected = pieces shapes (grad (pieces shapes >> mix) flat)
    let actual = read g
    Assert.Equal(expected.Length, actual.Length)
    List.iteri2 (fun i e a -> assertClose (sprintf "%s leaf %d" typeof<'T>.Name i) rounding e a) expected actual
    x, g

/// Same structure (Tree.flatten's TreeDef) and leafwise close.
let private assertTreesClose (what: string) (tol: Tolerance) (expected: 'T) (actual: 'T) =
    let es, de = Tree.flatten expected
    let xs, da = Tree.flatten actual
    Assert.True(de.SameStructure da, sprintf "%s: the structures differ" what)
    List.iteri2 (fun i e a -> assertClose (sprintf "%s, leaf %d" what i) tol e a) es xs

let private shapeCycle = [| [||]; [| 3 |]; [| 2; 2 |] |]

/// k shapes cycling through a scalar, a vector and a matrix.
let private shapesOf (k: int) =
    List.init k (fun i -> shapeCycle.[i % shapeCycle.Length])

let private assertMessageContains (fragment: string) (e: exn) =
    Assert.True(e.Message.Contains fragment, sprintf "expected the message to contain %s, got: %s" fragment e.Message)

// ---- 1. gradients through every kind of node equal the flat gradient -----------------------

[<Fact>]
let ``the gradient of a function of a record is that record type, equal to the flat gradient`` () =
    let x, g =
        gradMatchesFlat 1 [ [| 3; 2 |]; [| 2 |] ] (fun l -> { W = l.[0]; B = l.[1] }) (fun (p: Dense) -> [ p.W; p.B ])

    Assert.IsType<Dense>(box g) |> ignore
    Assert.Equal<int[]>(x.W.Shape, g.W.Shape)
    Assert.Equal<int[]>(x.B.Shape, g.B.Shape)

[<Fact>]
let ``gradients through tuples of arity 2 to 7 equal the flat gradient`` () =
    gradMatchesFlat 2 (shapesOf 2) (fun l -> l.[0], l.[1]) (fun (a, b) -> [ a; b ])
    |> ignore

    gradMatchesFlat 3 (shapesOf 3) (fun l -> l.[0], l.[1], l.[2]) (fun (a, b, c) -> [ a; b; c ])
    |> ignore

    gradMatchesFlat 4 (shapesOf 4) (fun l -> l.[0], l.[1], l.[2], l.[3]) (fun (a, b, c, d) -> [ a; b; c; d ])
    |> ignore

    gradMatchesFlat 5 (shapesOf 5) (fun l -> l.[0], l.[1], l.[2], l.[3], l.[4]) (fun (a, b, c, d, e) ->
        [ a; b; c; d; e ])
    |> ignore

    gradMatchesFlat 6 (shapesOf 6) (fun l -> l.[0], l.[1], l.[2], l.[3], l.[4], l.[5]) (fun (a, b, c, d, e, f) ->
        [ a; b; c; d; e; f ])
    |> ignore

    let _, (_, b, _, _, _, _, g) =
        gradMatchesFlat
            7
            (shapesOf 7)
            (fun l -> l.[0], l.[1], l.[2], l.[3], l.[4], l.[5], l.[6])
            (fun (a, b, c, d, e, f, g) -> [ a; b; c; d; e; f; g ])

    Assert.Equal<int[]>([| 3 |], b.Shape)
    Assert.Equal<int[]>([||], g.Shape)

[<Fact>]
let ``gradients through F# lists and arrays keep their lengths and order`` () =
    let x, g = gradMatchesFlat 8 (shapesOf 4) id id
    Assert.Equal(x.Length, g.Length)

    let xa, ga = gradMatchesFlat 9 (shapesOf 5) Array.ofList List.ofArray
    Assert.Equal(xa.Length, ga.Length)
    Assert.IsType<Tensor[]>(box ga) |> ignore

[<Fact>]
let ``the gradient of a function of a Map keeps the keys`` () =
    let x, g =
        gradMatchesFlat
            10
            [ [| 2 |]; [||]; [| 2; 3 |] ]
            (fun l -> Map [ "weight", l.[0]; "bias", l.[1]; "alpha", l.[2] ])
            (fun (m: Map<string, Tensor>) -> [ m.["weight"]; m.["bias"]; m.["alpha"] ])

    Assert.Equal<string list>(x |> Map.keys |> List.ofSeq, g |> Map.keys |> List.ofSeq)

[<Fact>]
let ``options: Some carries a gradient and None stays None`` () =
    let _, (_, some, none) =
        gradMatchesFlat 11 [ [| 2 |]; [| 3 |] ] (fun l -> l.[0], Some l.[1], (None: Tensor option)) (fun (a, b, c) ->
            a :: Option.toList b @ Option.toList c)

    Assert.True(some.IsSome)
    Assert.Equal<int[]>([| 3 |], some.Value.Shape)
    Assert.True(none.IsNone)

    let _, g =
        gradMatchesFlat
            12
            [ [| 2 |]; [||] ]
            (fun l ->
                {
                    Core = l.[0]
                    Gate = Some l.[1]
                    Unused = None
                })
            (fun p -> p.Core :: Option.toList p.Gate)

    Assert.True(g.Gate.IsSome)
    Assert.True(g.Unused.IsNone)

[<Fact>]
let ``single-case unions come back as the same case`` () =
    let _, (Scale g) =
        gradMatchesFlat 13 [ [| 2; 2 |] ] (fun l -> Scale l.[0]) (fun (Scale s) -> [ s ])

    Assert.Equal<int[]>([| 2; 2 |], g.Shape)

    let _, (Affine(w, b)) =
        gradMatchesFlat 14 [ [| 3; 2 |]; [| 2 |] ] (fun l -> Affine(l.[0], l.[1])) (fun (Affine(w, b)) -> [ w; b ])

    Assert.Equal<int[]>([| 3; 2 |], w.Shape)
    Assert.Equal<int[]>([| 2 |], b.Shape)

[<Fact>]
let ``nested trees: a record of a list of records of maps and options, an array and a tuple`` () =
    let shapes =
        [
            [| 2; 2 |]
            [| 2 |]
            [||] // block 0: weights "w", "b" and a gain
            [| 3 |]
            [| 2; 3 |] // block 1: weights "w", "b", no gain
            [| 4 |]
            [| 4 |] // embedding
            [| 2 |]
            [||]
        ] // head

    let build (l: Tensor list) =
        {
            Blocks =
                [
                    {
                        Weights = Map [ "w", l.[0]; "b", l.[1] ]
                        Gain = Some l.[2]
                    }
                    {
                        Weights = Map [ "w", l.[3]; "b", l.[4] ]
                        Gain = None
                    }
                ]
            Embedding = [| l.[5]; l.[6] |]
            Head = l.[7], l.[8]
        }

    let read (m: Model) =
        [
            for block in m.Blocks do
                yield block.Weights.["w"]
                yield block.Weights.["b"]
                yield! Option.toList block.Gain
            yield! m.Embedding
            yield fst m.Head
            yield snd m.Head
        ]

    let _, g = gradMatchesFlat 15 shapes build read
    Assert.Equal(2, g.Blocks.Length)
    Assert.True(g.Blocks.[0].Gain.IsSome)
    Assert.True(g.Blocks.[1].Gain.IsNone)
    Assert.Equal<string list>([ "b"; "w" ], g.Blocks.[1].Weights |> Map.keys |> List.ofSeq)

[<Fact>]
let ``ResizeArray and Dictionary<string, _> come back as themselves with their keys`` () =
    let _, g = gradMatchesFlat 16 (shapesOf 3) ResizeArray (fun r -> List.ofSeq r)
    Assert.IsType<ResizeArray<Tensor>>(box g) |> ignore
    Assert.Equal(3, g.Count)

    let build (l: Tensor list) =
        let d = Dictionary<string, Tensor>()
        d.["weight"] <- l.[0]
        d.["bias"] <- l.[1]
        d

    let _, gd =
        gradMatchesFlat 17 [ [| 2; 2 |]; [| 2 |] ] build (fun (d: Dictionary<string, Tensor>) ->
            [ d.["weight"]; d.["bias"] ])

    Assert.Equal<string list>([ "bias"; "weight" ], gd.Keys |> List.ofSeq |> List.sort)

[<Fact>]
let ``classes: rebuilt through the matching constructor, or the parameterless one and setters`` () =
    let _, g =
        gradMatchesFlat 18 [ [| 2; 3 |]; [| 3 |] ] (fun l -> AffineClass(l.[0], l.[1])) (fun c -> [ c.Weight; c.Bias ])

    Assert.Equal<int[]>([| 2; 3 |], g.Weight.Shape)

    let build (l: Tensor list) =
        SettableAffine(Weight = l.[0], Bias = l.[1])

    let _, gs =
        gradMatchesFlat 19 [ [| 3 |]; [||] ] build (fun (c: SettableAffine) -> [ c.Weight; c.Bias ])

    Assert.Equal<int[]>([| 3 |], gs.Weight.Shape)

[<Fact>]
let ``struct tuples and anonymous records are trees too`` () =
    gradMatchesFlat 20 (shapesOf 2) (fun l -> struct (l.[0], l.[1])) (fun (struct (a, b)) -> [ a; b ])
    |> ignore

    gradMatchesFlat 21 (shapesOf 2) (fun l -> {| Weight = l.[0]; Bias = l.[1] |}) (fun r -> [ r.Weight; r.Bias ])
    |> ignore

// ---- 2. the tree transforms against their oracles ------------------------------------------

/// Fixed inputs of the small dense layer the transform tests differentiate.
let private inputs = randomTensor (Random 100) -1.0 1.0 [| 4; 3 |]

let private denseShapes = [ [| 3; 2 |]; [| 2 |] ]

let private denseOf (l: Tensor list) = { W = l.[0]; B = l.[1] }

let private randomDense (seed: int) =
    let r = Random seed

    {
        W = randomTensor r -1.0 1.0 [| 3; 2 |]
        B = randomTensor r -1.0 1.0 [| 2 |]
    }

/// A layer's activations and a scalar: a tuple-valued function of a record.
let private layer (p: Dense) =
    let h = Tensor.tanh (Tensor.matmul inputs p.W + p.B)
    h, Tensor.sum (h * h) + Tensor.sum (p.W * p.W * p.W)

let private layerSummary (p: Dense) =
    let h, e = layer p
    { Activations = h; Energy = e }

let private layerLoss (p: Dense) =
    snd (layer p) + Tensor.sum (Tensor.sin p.B)

[<Fact>]
let ``Tree.valueAndGrad returns f x and Tree.grad f x`` () =
    let p = randomDense 1
    let value, g = Tree.valueAndGrad layerLoss p
    assertClose "value" rounding (layerLoss p) value
    assertTreesClose "gradient" rounding (Tree.grad layerLoss p) g

[<Fact>]
let ``Tree.jvp agrees with central differences along a random tree direction`` () =
    let p, v = randomDense 2, randomDense 3
    let (y, e), (ty, te) = Tree.jvp layer p v
    assertClose "primal activations" rounding (fst (layer p)) y
    assertClose "primal energy" rounding (snd (layer p)) e

    let flatLayer (flat: Tensor) =
        let h, e = layer (denseOf (pieces denseShapes flat))
        concatenate [ h; e ]

    let expected =
        centralDifference flatLayer (concatenate [ p.W; p.B ]) (concatenate [ v.W; v.B ])

    assertClose "J v" finiteDifference expected (concatenate [ ty; te ])

[<Fact>]
let ``Tree.vjp is the transpose of Tree.jvp for record and tuple outputs`` () =
    let p, v = randomDense 4, randomDense 5
    let r = Random 6

    let u =
        {
            Activations = randomTensor r -1.0 1.0 [| 4; 2 |]
            Energy = randomTensor r -1.0 1.0 [||]
        }

    let y, pullback = Tree.vjp layerSummary p
    assertTreesClose "primal" rounding (layerSummary p) y
    let jtu = pullback u
    Assert.IsType<Dense>(box jtu) |> ignore
    let jv = snd (Tree.jvp layerSummary p v)
    assertCloseFloat "<u, J v> = <J^T u, v> (record output)" rounding (float (Tree.dot u jv)) (float (Tree.dot jtu v))

    let _, tuplePullback = Tree.vjp layer p
    let uTuple = u.Activations, u.Energy
    let jvTuple = snd (Tree.jvp layer p v)

    assertCloseFloat
        "<u, J v> = <J^T u, v> (tuple output)"
        rounding
        (float (Tree.dot uTuple jvTuple))
        (float (Tree.dot (tuplePullback uTuple) v))

[<Fact>]
let ``Tree.linearize: the primal is f x and the linear map is jvp's tangent`` () =
    let p = randomDense 7
    let y, linear = Tree.linearize layerSummary p
    assertTreesClose "primal" rounding (layerSummary p) y

    for seed in [ 8; 9 ] do
        let v = randomDense seed

        assertTreesClose
            (sprintf "tangent along direction %d" seed)
            rounding
            (snd (Tree.jvp layerSummary p v))
            (linear v)

[<Fact>]
let ``Tree.hvp equals Tree.jvp of Tree.grad and the raveled Hessian times v`` () =
    let p, v = randomDense 10, randomDense 11
    let hv = Tree.hvp layerLoss p v
    assertTreesClose "hvp vs jvp (grad f)" rounding (snd (Tree.jvp (Tree.grad layerLoss) p v)) hv

    let flat, unravel = Tree.ravel p
    let h = hessian (layerLoss << unravel) flat
    let expected = contract h (concatenate [ v.W; v.B ])
    assertClose "hvp vs ravel + hessian" { Relative = 1e-9; Absolute = 1e-12 } expected (concatenate [ hv.W; hv.B ])

[<Fact>]
let ``Tree.ravel: one flat vector in leaf order, and unravel rebuilds the tree`` () =
    let p = randomDense 12
    let flat, unravel = Tree.ravel p
    Assert.Equal<float[]>(Array.append (values p.W) (values p.B), values flat)
    let back = unravel flat
    Assert.Equal<float[]>(values p.W, values back.W)
    Assert.Equal<float[]>(values p.B, values back.B)
    Assert.Equal<int[]>(p.W.Shape, back.W.Shape)

    Assert.Throws<ShapeException>(fun () -> unravel (Tensor.zeros [| 7 |]) |> ignore)
    |> ignore

[<Fact>]
let ``the Hessian of a function of a record through ravel is the analytic one`` () =
    // f(W, c) = c Σ W² + c³:  ∂²f/∂Wᵢ∂Wⱼ = 2c δᵢⱼ, ∂²f/∂Wᵢ∂c = 2Wᵢ, ∂²f/∂c² = 6c
    let f (p: Dense) =
        p.B * Tensor.sum (p.W * p.W) + p.B * p.B * p.B

    let w0, w1, c = 0.5, -1.5, 2.0

    let p =
        {
            W = Tensor.ofArray [| w0; w1 |]
            B = scalar c
        }

    let flat, unravel = Tree.ravel p
    let h = hessian (f << unravel) flat

    let expected =
        tensorOf
            [| 3; 3 |]
            [|
                2.0 * c
                0.0
                2.0 * w0
                0.0
                2.0 * c
                2.0 * w1
                2.0 * w0
                2.0 * w1
                6.0 * c
            |]

    assertClose "Hessian" rounding expected h

// ---- 3. argnums ----------------------------------------------------------------------------

/// A function of three trees of different kinds.
let private threeArgs (a: Dense) (b: Tensor * Tensor) (c: Tensor list) =
    let b1, b2 = b
    let h = Tensor.tanh (Tensor.matmul inputs a.W + a.B)

    Tensor.sum (h * b1)
    + Tensor.sum (Tensor.sin b2 * c.[0])
    + Tensor.sum (c.[1] * c.[1] * Tensor.sum a.W)

let private argsOf (seed: int) =
    let r = Random seed
    let t shape = randomTensor r -1.0 1.0 shape
    randomDense seed, (t [| 4; 2 |], t [| 3 |]), [ t [| 3 |]; t [| 2 |] ]

[<Fact>]
let ``Tree.grad2 and Tree.valueAndGrad2 equal the one-argument gradients`` () =
    let a, b, c = argsOf 20
    let f2 a b = threeArgs a b c
    let ga, gb = Tree.grad2 f2 a b
    assertTreesClose "d/da" rounding (Tree.grad (fun a -> f2 a b) a) ga
    assertTreesClose "d/db" rounding (Tree.grad (fun b -> f2 a b) b) gb

    let value, (va, vb) = Tree.valueAndGrad2 f2 a b
    assertClose "value" rounding (f2 a b) value
    assertTreesClose "valueAndGrad2 d/da" rounding ga va
    assertTreesClose "valueAndGrad2 d/db" rounding gb vb

[<Fact>]
let ``Tree.grad3 equals the one-argument gradients, and a closure selects a subset`` () =
    let a, b, c = argsOf 21
    let ga, gb, gc = Tree.grad3 threeArgs a b c
    assertTreesClose "d/da" rounding (Tree.grad (fun a -> threeArgs a b c) a) ga
    assertTreesClose "d/db" rounding (Tree.grad (fun b -> threeArgs a b c) b) gb
    assertTreesClose "d/dc" rounding (Tree.grad (fun c -> threeArgs a b c) c) gc

    let sa, sc = Tree.grad (fun (a, c) -> threeArgs a b c) (a, c)
    assertTreesClose "(a, c) selection, d/da" rounding ga sa
    assertTreesClose "(a, c) selection, d/dc" rounding gc sc

// ---- 4. hasAux -----------------------------------------------------------------------------

[<Fact>]
let ``Tree.valueAndGradAux returns the aux unchanged and the gradient without aux`` () =
    let p = randomDense 30
    let labels = Tensor.convert Int64 (Tensor.ofArray [| 0.0; 1.0; 1.0; 0.0 |])
    let note = "a string passed through untouched"

    let logits (p: Dense) = Tensor.matmul inputs p.W + p.B

    let loss (p: Dense) =
        -Tensor.mean(Tensor.sumAxes [ 1 ] (Tensor.oneHot 2 labels * Tensor.logSoftmaxAxis 1 (logits p)))

    let accuracy (z: Tensor) =
        Tensor.mean (Tensor.convert Float64 (Tensor.eq (Tensor.argmaxAxis 1 z) labels))

    let (value, (text, acc)), g =
        Tree.valueAndGradAux (fun p -> loss p, (note, accuracy (logits p))) p

    Assert.Same(note, text)
    assertClose "accuracy aux" rounding (accuracy (logits p)) acc
    let expectedValue, expectedGrad = Tree.valueAndGrad loss p
    assertClose "value" rounding expectedValue value
    assertTreesClose "gradient" rounding expectedGrad g

// ---- 5. utilities --------------------------------------------------------------------------

let private floats (ts: Tensor list) = ts |> List.map values |> Array.concat

[<Fact>]
let ``leaves: fields in declaration order, list elements in order, map keys sorted`` () =
    let ordered =
        {
            Zeta = scalar 1.0
            Alpha = scalar 2.0
            Mid = scalar 3.0
        }

    Assert.Equal<float[]>([| 1.0; 2.0; 3.0 |], floats (Tree.leaves ordered))
    Assert.Equal<float[]>([| 4.0; 5.0; 6.0 |], floats (Tree.leaves [ scalar 4.0; scalar 5.0; scalar 6.0 ]))

    let m = Map [ "c", scalar 3.0; "a", scalar 1.0; "b", scalar 2.0 ]
    Assert.Equal<float[]>([| 1.0; 2.0; 3.0 |], floats (Tree.leaves m))

    let nested = (ordered, [ m ], Some(scalar 7.0))
    Assert.Equal<float[]>([| 1.0; 2.0; 3.0; 1.0; 2.0; 3.0; 7.0 |], floats (Tree.leaves nested))

[<Fact>]
let ``map, map2, zerosLike, add, sub and scale work leafwise and keep the structure`` () =
    let x =
        {
            W = Tensor.ofArray [| 1.0; 2.0 |]
            B = scalar 3.0
        }

    let y =
        {
            W = Tensor.ofArray [| 10.0; 20.0 |]
            B = scalar 30.0
        }

    let check (what: string) (w: float[]) (b: float) (actual: Dense) =
        Assert.True(values actual.W = w, sprintf "%s: W = %A" what (values actual.W))
        Assert.True(values actual.B = [| b |], sprintf "%s: B = %A" what (values actual.B))

    check "map" [| 1.0; 4.0 |] 9.0 (Tree.map (fun t -> t * t) x)
    check "map2" [| 10.0; 40.0 |] 90.0 (Tree.map2 (*) x y)
    check "add" [| 11.0; 22.0 |] 33.0 (Tree.add x y)
    check "sub" [| 9.0; 18.0 |] 27.0 (Tree.sub y x)
    check "scale" [| -2.0; -4.0 |] -6.0 (Tree.scale -2.0 x)
    let zeros = Tree.zerosLike x
    assertZeros "zerosLike W" [| 2 |] zeros.W
    assertZeros "zerosLike B" [||] zeros.B

[<Fact>]
let ``dot and norm are over all leaves together`` () =
    let x = (Tensor.ofArray [| 1.0; 2.0 |], [ scalar 2.0 ])
    let y = (Tensor.ofArray [| 3.0; -1.0 |], [ scalar 4.0 ])
    Assert.Equal(1.0 * 3.0 + 2.0 * -1.0 + 2.0 * 4.0, float (Tree.dot x y))
    Assert.Equal(3.0, float (Tree.norm x))

    // the gradient of the norm at zero is zero, not NaN
    let g = Tree.grad Tree.norm (Tensor.zeros [| 2 |], [ scalar 0.0 ])
    assertZeros "d norm at 0" [| 2 |] (fst g)
    assertZeros "d norm at 0" [||] (snd g).[0]

[<Fact>]
let ``flatten and unflatten round trip; a wrong leaf count raises ShapeException`` () =
    let m = randomDense 40

    let x =
        {
            Blocks =
                [
                    {
                        Weights = Map [ "w", m.W ]
                        Gain = None
                    }
                ]
            Embedding = [| m.B |]
            Head = m.B, m.W
        }

    let leaves, def = Tree.flatten x
    Assert.Equal(4, def.LeafCount)
    Assert.Same(m.W, leaves.[0])
    let back: Model = Tree.unflatten def (leaves |> List.map (fun t -> t * 2.0))
    Assert.Equal<float[]>(values (2.0 * m.W), values back.Blocks.[0].Weights.["w"])
    Assert.True(back.Blocks.[0].Gain.IsNone)
    Assert.Equal<float[]>(values (2.0 * m.W), values (snd back.Head))

    Assert.Throws<ShapeException>(fun () -> (Tree.unflatten def leaves.Tail: Model) |> ignore)
    |> ignore

[<Fact>]
let ``map2 raises ShapeException when the structures differ`` () =
    let t = scalar 1.0

    let mismatch (f: unit -> unit) =
        Assert.Throws<ShapeException>(f) |> ignore

    mismatch (fun () -> Tree.map2 (+) [ t ] [ t; t ] |> ignore)
    mismatch (fun () -> Tree.map2 (+) (Map [ "a", t ]) (Map [ "b", t ]) |> ignore)
    mismatch (fun () -> Tree.map2 (+) (Some t) None |> ignore)
    mismatch (fun () -> Tree.map2 (+) [| t |] [||] |> ignore)
    mismatch (fun () -> Tree.add [ Tensor.zeros [| 2 |] ] [] |> ignore)

// ---- 6. registered types -------------------------------------------------------------------

/// Exposes its parts through a method, not properties: reflection finds no children.
type UnregisteredPair(first: Tensor, second: Dense) =
    member _.Parts() = first, second

/// The same, registered with Tree.register in the test below.
type RegisteredPair(first: Tensor, second: Dense) =
    member _.Parts() = first, second

[<Fact>]
let ``Tree.register makes a custom type (with a subtree child) work under Tree.grad`` () =
    let p = randomDense 50
    let first = Tensor.ofArray [| 0.5; -1.0 |]

    let loss (a: Tensor) (d: Dense) = Tensor.sum (a * a * a) + layerLoss d

    Assert.Throws<TransformException>(fun () ->
        Tree.grad (fun (u: UnregisteredPair) -> u.Parts() ||> loss) (UnregisteredPair(first, p))
        |> ignore)
    |> ignore

    Tree.register<RegisteredPair>
        (fun r ->
            let a, d = r.Parts()
            [ box a; box d ])
        (fun _ children -> RegisteredPair(children.[0] :?> Tensor, children.[1] :?> Dense))

    let g =
        Tree.grad (fun (r: RegisteredPair) -> r.Parts() ||> loss) (RegisteredPair(first, p))

    let ga, gd = g.Parts()
    assertClose "first" rounding (Tree.grad (fun a -> loss a p) first) ga
    assertTreesClose "second" rounding (Tree.grad (loss first) p) gd
    Assert.Equal(3, Tree.leaves (RegisteredPair(first, p)) |> List.length)

// ---- 7. errors name the path of the offending leaf -----------------------------------------

[<Fact>]
let ``a string or int leaf in the differentiated argument raises naming its path and type`` () =
    let w = scalar 1.0

    let e =
        Assert.Throws<TransformException>(fun () ->
            Tree.grad (fun (p: Named) -> p.W * p.W) { W = w; Name = "relu" } |> ignore)

    assertMessageContains "params.Name" e
    assertMessageContains "String" e

    let e =
        Assert.Throws<TransformException>(fun () ->
            Tree.grad (fun (p: Counted) -> p.W * p.W) { W = w; Count = 3 } |> ignore)

    assertMessageContains "params.Count" e
    assertMessageContains "Int32" e

    let tagged (extra: (string * obj) list) = { W = w; Extra = Map extra }

    let network =
        {
            Layers =
                [
                    tagged [ "bias", box w ]
                    tagged [ "bias", box w ]
                    tagged [ "bias", box w; "name", box "relu" ]
                ]
        }

    let e =
        Assert.Throws<TransformException>(fun () -> Tree.grad (fun (n: Network) -> n.Layers.[0].W) network |> ignore)

    assertMessageContains "params.Layers[2].Extra[\"name\"]" e

[<Fact>]
let ``a null Tensor leaf raises naming its path`` () =
    let w = scalar 1.0

    let network =
        {
            Layers =
                [
                    { W = w; Extra = Map.empty }
                    {
                        W = Unchecked.defaultof<Tensor>
                        Extra = Map.empty
                    }
                ]
        }

    let e =
        Assert.Throws<TransformException>(fun () -> Tree.grad (fun (n: Network) -> n.Layers.[0].W) network |> ignore)

    assertMessageContains "params.Layers[1].W" e
    assertMessageContains "null" e

[<Fact>]
let ``a float leaf cannot be differentiated but works in map, ravel and flatten`` () =
    let config =
        {
            W = Tensor.ofArray [| 1.0; 2.0 |]
            Rate = 0.5
        }

    let e =
        Assert.Throws<TransformException>(fun () ->
            Tree.grad (fun (c: Config) -> Tensor.sum c.W * c.Rate) config |> ignore)

    assertMessageContains "params.Rate" e
    assertMessageContains "float" e

    let doubled = Tree.map (fun t -> t * 2.0) config
    Assert.Equal(1.0, doubled.Rate)
    Assert.Equal<float[]>([| 2.0; 4.0 |], values doubled.W)

    let flat, unravel = Tree.ravel config
    Assert.Equal<float[]>([| 1.0; 2.0; 0.5 |], values flat)
    Assert.Equal(0.25, (unravel (Tensor.ofArray [| 0.0; 0.0; 0.25 |])).Rate)

    let leaves, def = Tree.flatten config
    Assert.Equal(2, leaves.Length)
    let back: Config = Tree.unflatten def [ leaves.[0]; scalar 4.0 ]
    Assert.Equal(4.0, back.Rate)

// ---- 8. optimizers -------------------------------------------------------------------------

let private target =
    {
        W = tensorOf [| 2; 2 |] [| 1.0; -2.0; 0.5; 3.0 |]
        B = Tensor.ofArray [| -1.0; 0.25 |]
    }

/// f(p) = Σ (p − target)², minimized at the target.
let private quadratic (p: Dense) =
    let d = Tree.sub p target
    Tree.dot d d

let private distanceToTarget (p: Dense) = float (Tree.norm (Tree.sub p target))

let private start =
    {
        W = Tensor.zeros [| 2; 2 |]
        B = Tensor.zeros [| 2 |]
    }

/// Runs `steps` updates of an optimizer from `start` on `quadratic`.
let private descend (steps: int) (init: 'S) (update: 'S -> Dense -> Dense -> 'S * Dense) =
    let mutable state, p = init, start

    for _ in 1..steps do
        let s, next = update state p (Tree.grad quadratic p)
        state <- s
        p <- next

    state, p

[<Fact>]
let ``sgd, momentum and adam converge to the minimum of a quadratic and count their steps`` () =
    let before = distanceToTarget start
    let sgdState, sgdP = descend 100 (Optim.sgdInit start) (Optim.sgd 0.1)
    Assert.Equal(100, sgdState.Step)
    Assert.True(distanceToTarget sgdP < 1e-6 * before, sprintf "sgd: distance %g" (distanceToTarget sgdP))

    let momentumState, momentumP =
        descend 200 (Optim.momentumInit start) (Optim.momentum 0.05 0.9)

    Assert.Equal(200, momentumState.Step)

    Assert.True(
        distanceToTarget momentumP < 1e-4 * before,
        sprintf "momentum: distance %g" (distanceToTarget momentumP)
    )

    let adamState, adamP = descend 500 (Optim.adamInit start) (Optim.adam 0.05)
    Assert.Equal(500, adamState.Step)
    Assert.True(distanceToTarget adamP < 1e-2 * before, sprintf "adam: distance %g" (distanceToTarget adamP))

[<Fact>]
let ``one sgd step, two momentum steps and two adam steps equal the hand-computed updates`` () =
    let p = scalar 1.0
    let g1, g2 = 0.5, -2.0

    let _, sgdP = Optim.sgd 0.1 (Optim.sgdInit p) p (scalar g1)
    assertCloseFloat "sgd" rounding (1.0 - 0.1 * g1) (float sgdP)

    // v₁ = g₁, p₁ = p₀ − lr v₁; v₂ = β v₁ + g₂, p₂ = p₁ − lr v₂
    let m1, mp1 = Optim.momentum 0.1 0.9 (Optim.momentumInit p) p (scalar g1)
    let m2, mp2 = Optim.momentum 0.1 0.9 m1 mp1 (scalar g2)
    let v1 = g1
    let v2 = 0.9 * v1 + g2
    assertCloseFloat "momentum velocity" rounding v2 (float m2.Velocity)
    assertCloseFloat "momentum" rounding (1.0 - 0.1 * v1 - 0.1 * v2) (float mp2)
    Assert.Equal(2, m2.Step)

    // m_t = β₁ m + (1−β₁) g, v_t = β₂ v + (1−β₂) g², p −= lr (m_t/(1−β₁ᵗ)) / (√(v_t/(1−β₂ᵗ)) + ε)
    let lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    let a1, ap1 = Optim.adam lr (Optim.adamInit p) p (scalar g1)
    let a2, ap2 = Optim.adam lr a1 ap1 (scalar g2)
    let m1 = (1.0 - b1) * g1
    let s1 = (1.0 - b2) * g1 * g1
    let p1 = 1.0 - lr * (m1 / (1.0 - b1)) / (sqrt (s1 / (1.0 - b2)) + eps)
    let m2 = b1 * m1 + (1.0 - b1) * g2
    let s2 = b2 * s1 + (1.0 - b2) * g2 * g2
    let p2 = p1 - lr * (m2 / (1.0 - b1 ** 2.0)) / (sqrt (s2 / (1.0 - b2 ** 2.0)) + eps)
    assertCloseFloat "adam step 1" rounding p1 (float ap1)
    assertCloseFloat "adam step 2" rounding p2 (float ap2)
    assertCloseFloat "adam first moment" rounding m2 (float a2.M)
    assertCloseFloat "adam second moment" rounding s2 (float a2.V)
    Assert.Equal(1, a1.Step)
    Assert.Equal(2, a2.Step)

[<Fact>]
let ``a two-layer MLP in a record trained with Tree.valueAndGrad and Optim.adam reaches loss below 0.05 and accuracy at least 98 percent in 300 steps``
    ()
    =
    // two interleaved half-moons in 2-D, 200 points, uniform noise ±0.1, fixed seed
    let r = Random 42
    let n = 200

    let points =
        Array.init n (fun i ->
            let angle = Math.PI * r.NextDouble()

            let x, y =
                if i % 2 = 0 then
                    cos angle, sin angle
                else
                    1.0 - cos angle, 0.5 - sin angle

            [|
                x + 0.1 * (2.0 * r.NextDouble() - 1.0)
                y + 0.1 * (2.0 * r.NextDouble() - 1.0)
            |])

    let xs = tensorOf [| n; 2 |] (Array.concat points)

    let labels =
        Tensor.convert Int64 (Tensor.ofArray (Array.init n (fun i -> float (i % 2))))

    let targets = Tensor.oneHot 2 labels
    let hidden = 16

    let init =
        {
            W1 = randomTensor r -1.0 1.0 [| 2; hidden |]
            B1 = Tensor.zeros [| hidden |]
            W2 = randomTensor r -0.5 0.5 [| hidden; 2 |]
            B2 = Tensor.zeros [| 2 |]
        }

    let logits (p: Mlp) =
        Tensor.matmul (Tensor.tanh (Tensor.matmul xs p.W1 + p.B1)) p.W2 + p.B2

    let loss (p: Mlp) =
        -Tensor.sum(targets * Tensor.logSoftmaxAxis 1 (logits p)) / float n

    let accuracy (p: Mlp) =
        float (Tensor.mean (Tensor.convert Float64 (Tensor.eq (Tensor.argmaxAxis 1 (logits p)) labels)))

    let mutable state, p = Optim.adamInit init, init
    let initialLoss = float (loss init)

    for _ in 1..300 do
        let _, g = Tree.valueAndGrad loss p
        let s, next = Optim.adam 0.05 state p g
        state <- s
        p <- next

    let finalLoss, finalAccuracy = float (loss p), accuracy p
    Assert.Equal(300, state.Step)
    Assert.True(initialLoss > 0.3, sprintf "the initial loss %g should be far from trained" initialLoss)
    Assert.True(finalLoss < 0.05, sprintf "final loss %g (initial %g)" finalLoss initialLoss)
    Assert.True(finalAccuracy >= 0.98, sprintf "training accuracy %g" finalAccuracy)

// ---- 9. the plan cache under concurrent first use ------------------------------------------

// Types used by this test only, so their plans are first computed by eight threads at once.
type ConcurrentA = { P: Tensor; Q: Tensor list }

type ConcurrentB = ConcurrentB of Tensor * Map<string, Tensor>

type ConcurrentC(x: Tensor, y: Tensor[]) =
    member _.X = x
    member _.Y = y

type ConcurrentD =
    {
        Inner: ConcurrentA option
        Extra: ResizeArray<Tensor>
    }

[<Fact>]
let ``eight threads flattening and differentiating new types at once get the sequential results`` () =
    let r = Random 60
    let t (shape: int[]) = randomTensor r -1.0 1.0 shape

    let a =
        {
            P = t [| 2 |]
            Q = [ t [||]; t [| 3 |] ]
        }

    let b = ConcurrentB(t [| 2; 2 |], Map [ "y", t [| 2 |]; "x", t [||] ])
    let c = ConcurrentC(t [| 3 |], [| t [||]; t [| 2 |] |])

    let d =
        {
            Inner = Some a
            Extra = ResizeArray [ t [| 2 |] ]
        }

    // each thread weights the loss by its own factor, so results differ between threads
    let work (k: int) =
        let loss (leaves: Tensor list) = float k * mix leaves

        let run (x: 'T) =
            let g = Tree.grad (Tree.leaves >> loss) x
            [ floats (Tree.leaves x); floats (Tree.leaves g) ]

        List.concat [ run a; run b; run c; run d ]

    let threads = 8
    let results: Choice<float[] list, exn> option[] = Array.zeroCreate threads
    let barrier = new Barrier(threads)

    // a failure in a thread is kept as a result, not lost
    let workers =
        Array.init threads (fun k ->
            Thread(fun () ->
                barrier.SignalAndWait()

                results.[k] <-
                    try
                        Some(Choice1Of2(work k))
                    with e ->
                        Some(Choice2Of2 e)))

    workers |> Array.iter (fun w -> w.Start())
    workers |> Array.iter (fun w -> w.Join())

    for k in 0 .. threads - 1 do
        match results.[k] with
        | Some(Choice1Of2 concurrent) ->
            let sequential = work k
            Assert.Equal(sequential.Length, concurrent.Length)
            List.iter2 (fun (s: float[]) (c: float[]) -> Assert.Equal<float[]>(s, c)) sequential concurrent
        | Some(Choice2Of2 e) -> failwithf "thread %d failed: %O" k e
        | None -> failwithf "thread %d produced no result" k

// ---- regressions --------------------------------------------------------------------------

type private AuxParams = { W: Tensor; B: Tensor }

[<Fact>]
let ``an aux output that depends on the parameters comes back as values, not dead tracers`` () =
    let p =
        {
            W = Tensor.ofArray [| 1.0; 2.0 |]
            B = Tensor.scalar 3.0
        }

    let (_, aux), _ =
        Tree.valueAndGradAux (fun p -> Tensor.sum (p.W * p.W) + p.B, (p.W * 2.0, "note")) p

    let doubled, note = aux
    Assert.Equal<float[]>([| 2.0; 4.0 |], Tensor.toArray doubled)
    Assert.Equal("note", note)

type WithComputed() =
    member val W = Tensor.scalar 1.0 with get, set
    member this.Twice = this.W * 2.0

[<Fact>]
let ``a class's computed read-only properties are not children`` () =
    let g =
        Tree.grad (fun (c: WithComputed) -> c.W * c.W) (WithComputed(W = Tensor.scalar 3.0))

    Assert.Equal(6.0, float g.W)

[<Fact>]
let ``a dictionary is rebuilt with its comparer`` () =
    let d = Dictionary<string, Tensor>(StringComparer.OrdinalIgnoreCase)
    d.["A"] <- Tensor.scalar 2.0
    let g = Tree.grad (fun (d: Dictionary<string, Tensor>) -> d.["a"] * d.["a"]) d
    Assert.Equal(4.0, float g.["a"])
    Assert.Same(StringComparer.OrdinalIgnoreCase, g.Comparer)

[<Fact>]
let ``an int64 tensor leaf names its path and a map with int keys says keys must be strings`` () =
    let e =
        Assert.Throws<TransformException>(fun () ->
            Tree.grad
                (fun (p: {| X: Tensor; I: Tensor |}) -> Tensor.sum p.X)
                {|
                    X = Tensor.ones [| 2 |]
                    I = Tensor.convert Int64 (Tensor.ones [| 2 |])
                |}
            |> ignore)

    Assert.Contains("params.I", e.Message)

    let e2 =
        Assert.Throws<TransformException>(fun () ->
            Tree.grad (fun (m: Map<int, Tensor>) -> m.[0]) (Map.ofList [ 0, Tensor.scalar 1.0 ])
            |> ignore)

    Assert.Contains("string keys", e2.Message)
