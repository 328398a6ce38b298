// Room: the transforms over trees (Tree.grad, Tree.vjp, ...) and tree utilities.
namespace FunDiff

open System
open FunDiff.Transforms
open FunDiff.Compiler

/// How vmap treats an argument or a leaf (an entry of JAX's `in_axes`): mapped over one of
/// its axes, or the same for every example (broadcast, as a closed-over value is).
type VmapAxis =
    /// Every leaf is batched along this axis (negative counts from the end).
    | Along of axis: int
    /// The value is the same for every example.
    | Shared

/// Trees: values whose leaves are tensors (or floats) — records, tuples, lists, arrays, maps,
/// options, unions, C# records and classes, nested freely — and the transforms over them.
/// `Diff` stays monomorphic on Tensor; use `Tree.grad` & co. for functions of many tensors.
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Tree =

    let private flattenWithPaths<'T> (root: string) (x: 'T) =
        let leaves, paths = ResizeArray<Tensor>(), ResizeArray<string>()
        let node = TreePlans.flattenInto (box x) typeof<'T> root leaves paths
        leaves.ToArray(), TreeDef(node, leaves.Count), paths.ToArray()

    let private flattenAs<'T> (root: string) (x: 'T) =
        let leaves, def, _ = flattenWithPaths root x
        leaves, def

    /// The leaves of the argument being differentiated, each checked to be float64 (the
    /// message names the leaf's path).
    let private differentiable<'T> (transform: string) (x: 'T) =
        let leaves, def, paths = flattenWithPaths "params" x

        leaves
        |> Array.iteri (fun i leaf ->
            if not leaf.DType.IsFloat then
                raise (
                    TransformException(
                        sprintf
                            "%s: the leaf %s has dtype %s; only float64 leaves can be differentiated. Convert it with Tensor.convert Float64, or keep it out of the differentiated argument."
                            transform
                            paths.[i]
                            leaf.DType.ShortName
                    )
                ))

        leaves, def

    let private rebuildAs<'T> (def: TreeDef) (leaves: Tensor[]) : 'T =
        if leaves.Length <> def.LeafCount then
            raise (
                ShapeException(sprintf "Tree.unflatten: %d leaves for a structure of %d." leaves.Length def.LeafCount)
            )

        TreePlans.rebuild def.Root leaves (ref 0) :?> 'T

    /// The leaves of a value (depth first, in field / element / key order) and its structure.
    let flatten (x: 'T) : Tensor list * TreeDef =
        let leaves, def = flattenAs "tree" x
        List.ofArray leaves, def

    /// Rebuilds a value of the given structure from leaves (as many as `def.LeafCount`).
    let unflatten (def: TreeDef) (leaves: Tensor list) : 'T =
        Guard.notNull "Tree.unflatten" "def" def
        Guard.notNull "Tree.unflatten" "leaves" leaves
        rebuildAs def (Array.ofList leaves)

    /// The leaves of a value.
    let leaves (x: 'T) : Tensor list = fst (flatten x)

    /// Registers a node type: `children` lists its child values (subtrees or leaves) and
    /// `rebuild template children` builds a value like `template` from new children. Use it for
    /// types the reflection-based flattening does not handle.
    let register<'T> (children: 'T -> obj list) (rebuild: 'T -> obj list -> 'T) =
        Guard.notNull "Tree.register" "children" children
        Guard.notNull "Tree.register" "rebuild" rebuild

        TreeRegistry.Registered.[typeof<'T>] <-
            {
                Children =
                    fun v ->
                        children (v :?> 'T)
                        |> List.map (fun c -> c, (if isNull c then typeof<obj> else c.GetType()))
                        |> Array.ofList
                ChildName = fun _ i -> sprintf "[%d]" i
                Aux = id
                Rebuild = fun template cs -> box (rebuild (template :?> 'T) (List.ofArray cs))
            }

    let private checkSame (op: string) (a: TreeDef) (b: TreeDef) =
        if not (a.SameStructure b) then
            raise (
                ShapeException(
                    sprintf
                        "%s: the two trees have different structures (%d and %d leaves, or different fields, keys or lengths)."
                        op
                        a.LeafCount
                        b.LeafCount
                )
            )

    /// Applies `f` to every leaf.
    let map (f: Tensor -> Tensor) (x: 'T) : 'T =
        Guard.notNull "Tree.map" "f" f
        let leaves, def = flattenAs "tree" x
        rebuildAs def (Array.map f leaves)

    /// Applies `f` to the leaves of two trees of one structure, pairwise.
    let map2 (f: Tensor -> Tensor -> Tensor) (x: 'T) (y: 'T) : 'T =
        Guard.notNull "Tree.map2" "f" f
        let xs, dx = flattenAs "tree" x
        let ys, dy = flattenAs "tree" y
        checkSame "Tree.map2" dx dy
        rebuildAs dx (Array.map2 f xs ys)

    /// Zeros of every leaf's shape.
    let zerosLike (x: 'T) : 'T = map (fun t -> Tensor.Zeros t.Shape) x
    /// Leafwise sum.
    let add (x: 'T) (y: 'T) : 'T = map2 (+) x y
    /// Leafwise difference.
    let sub (x: 'T) (y: 'T) : 'T = map2 (-) x y
    /// Every leaf times a number.
    let scale (c: float) (x: 'T) : 'T = map (fun t -> c * t) x

    /// The inner product Σ over leaves of Σ x·y, a scalar tensor.
    let dot (x: 'T) (y: 'T) : Tensor =
        let xs, dx = flattenAs "tree" x
        let ys, dy = flattenAs "tree" y
        checkSame "Tree.dot" dx dy

        Array.map2 (fun a b -> Tensor.sum (a * b)) xs ys
        |> Array.fold (+) (Tensor.scalar 0.0)

    /// The 2-norm of all leaves together, a scalar tensor (gradient 0 at 0).
    let norm (x: 'T) : Tensor =
        let xs, _ = flattenAs "tree" x

        Tensor.norm (
            xs
            |> Array.map Tensor.flatten
            |> List.ofArray
            |> fun l ->
                if l.IsEmpty then
                    Tensor.zeros [| 0 |]
                else
                    Tensor.concat 0 l
        )

    /// All leaves as one flat float64 vector, and the function that rebuilds a tree from such a
    /// vector (differentiable both ways): Jacobians and Hessians over trees go through it.
    let ravel (x: 'T) : Tensor * (Tensor -> 'T) =
        let xs, def = flattenAs "params" x
        let shapes = xs |> Array.map (fun t -> t.Shape)
        let sizes = shapes |> Array.map Shape.size

        let flat =
            if xs.Length = 0 then
                Tensor.zeros [| 0 |]
            else
                xs
                |> Array.map (Tensor.convert Float64 >> Tensor.flatten)
                |> List.ofArray
                |> Tensor.concat 0

        let total = Array.sum sizes

        let unravel (v: Tensor) : 'T =
            Guard.notNull "Tree.ravel" "v" v

            if v.Shape <> [| total |] then
                raise (
                    ShapeException(
                        sprintf "Tree.ravel: the vector has shape %s; the tree needs [%d]." (Shape.show v.Shape) total
                    )
                )

            let mutable offset = 0

            let parts =
                Array.init xs.Length (fun i ->
                    let part = Tensor.reshape shapes.[i] (Tensor.slice offset (offset + sizes.[i]) v)
                    offset <- offset + sizes.[i]
                    part)

            rebuildAs def parts

        flat, unravel

    // ---- transforms ---------------------------------------------------------------------------

    /// Runs f on a tree rebuilt from leaves and returns its output's leaves, remembering the
    /// output structure (the first call's) in `outDef`.
    let private onLeaves (def: TreeDef) (f: 'T -> 'U) (outDef: TreeDef ref) =
        fun (leaves: Tensor[]) ->
            let y = f (rebuildAs def leaves)
            let ys, d = flattenAs "output" y
            outDef.Value <- d
            ys

    /// (value, gradient) of a scalar function of a tree; the gradient has the tree's structure.
    let valueAndGrad (f: 'T -> Tensor) (x: 'T) : Tensor * 'T =
        Guard.notNull "Tree.valueAndGrad" "f" f
        let xs, def = differentiable "Tree.grad" x

        let ys, program =
            Linearize.linearizeMany "Tree.grad" (fun leaves -> [| f (rebuildAs def leaves) |]) xs

        Linearize.checkScalarOutput "Tree.grad" ys.[0]
        ys.[0], rebuildAs def (Transpose.backwardPass program [| Prim.ones ys.[0].Aval |])

    /// The gradient of a scalar function of a tree, with the tree's structure:
    /// `Tree.grad loss params` is a `Params` of gradients.
    let grad (f: 'T -> Tensor) (x: 'T) : 'T =
        Guard.notNull "Tree.grad" "f" f
        snd (valueAndGrad f x)

    /// The aux output of a transformed function holds tracers of the (now finished) transform
    /// wherever it depends on the input: replace each by its primal value. Parts that are not
    /// trees (strings, numbers) are kept as they are.
    let private primalsOf (aux: 'A) : 'A =
        let leaves, paths = ResizeArray<Tensor>(), ResizeArray<string>()
        let node = TreePlans.flattenWith true (box aux) typeof<'A> "aux" leaves paths

        let primal (t: Tensor) =
            match t with
            | :? Jvp.JvpTracer as j when not j.Trace.Alive -> j.Primal
            | t -> t

        TreePlans.rebuild node (leaves.ToArray() |> Array.map primal) (ref 0) :?> 'A

    /// ((value, aux), gradient) for `f` returning a loss and auxiliary data that is not
    /// differentiated (JAX's has_aux); the aux holds values, not tracers.
    let valueAndGradAux (f: 'T -> Tensor * 'A) (x: 'T) : (Tensor * 'A) * 'T =
        Guard.notNull "Tree.valueAndGradAux" "f" f
        let mutable aux = Unchecked.defaultof<'A>

        let loss, g =
            valueAndGrad
                (fun p ->
                    let l, a = f p
                    aux <- a
                    l)
                x

        (loss, primalsOf aux), g

    /// Forward mode over trees: `(f x, J v)` with `v` of `x`'s structure.
    let jvp (f: 'T -> 'U) (x: 'T) (v: 'T) : 'U * 'U =
        Guard.notNull "Tree.jvp" "f" f
        let xs, def = differentiable "Tree.jvp" x
        let vs, dv = flattenAs "tangent" v
        checkSame "Tree.jvp" def dv
        let outDef = ref Unchecked.defaultof<TreeDef>
        let ys, ts = Jvp.jvpMany "Tree.jvp" (onLeaves def f outDef) xs vs

        let tangents =
            Array.map2
                (fun (y: Tensor) t ->
                    match t with
                    | ValueSome t -> t
                    | ValueNone -> Prim.zeros (y.Aval.WithDType Float64))
                ys
                ts

        rebuildAs outDef.Value ys, rebuildAs outDef.Value tangents

    /// Linearizes a function between trees: the input structure, the output structure, the
    /// primal output leaves and the linear program between the leaves' tangents.
    let private linearizeTree (transform: string) (f: 'T -> 'U) (x: 'T) =
        Guard.notNull transform "f" f
        let xs, def = differentiable transform x
        let outDef = ref Unchecked.defaultof<TreeDef>
        let ys, program = Linearize.linearizeMany transform (onLeaves def f outDef) xs
        def, outDef.Value, ys, program

    /// `(f x, fun v -> J v)` over trees; the tangent map is a staged linear program.
    let linearize (f: 'T -> 'U) (x: 'T) : 'U * ('T -> 'U) =
        let def, outs, ys, program = linearizeTree "Tree.linearize" f x

        rebuildAs outs ys,
        fun v ->
            let vs, dv = flattenAs "tangent" v
            checkSame "Tree.linearize" def dv
            rebuildAs outs (Program.eval program (vs |> Array.map (Prim.convert Float64)))

    /// Reverse mode over trees: `(f x, pullback)` with `pullback u = Jᵀ u`.
    let vjp (f: 'T -> 'U) (x: 'T) : 'U * ('U -> 'T) =
        let def, outs, ys, program = linearizeTree "Tree.vjp" f x

        rebuildAs outs ys,
        fun u ->
            let us, du = flattenAs "cotangent" u
            checkSame "Tree.vjp" outs du
            Array.iter2 (Linearize.checkCotangent "Tree.vjp") ys us
            rebuildAs def (Transpose.backwardPass program (us |> Array.map (Prim.convert Float64)))

    /// The Hessian-vector product of a scalar function of a tree (forward-over-reverse).
    let hvp (f: 'T -> Tensor) (x: 'T) (v: 'T) : 'T =
        Guard.notNull "Tree.hvp" "f" f
        snd (jvp (grad f) x v)

    /// The gradients of a curried function of two trees with respect to both:
    /// `let ga, gb = Tree.grad2 f a b`. For one argument, close over the other:
    /// `Tree.grad (fun a -> f a b) a`.
    let grad2 (f: 'A -> 'B -> Tensor) (a: 'A) (b: 'B) : 'A * 'B =
        Guard.notNull "Tree.grad2" "f" f
        grad (fun (a, b) -> f a b) (a, b)

    /// The gradients of a curried function of three trees with respect to all three; select a
    /// subset with a tuple and a closure: `Tree.grad (fun (a, c) -> f a b c) (a, c)`.
    let grad3 (f: 'A -> 'B -> 'C -> Tensor) (a: 'A) (b: 'B) (c: 'C) : 'A * 'B * 'C =
        Guard.notNull "Tree.grad3" "f" f
        grad (fun (a, b, c) -> f a b c) (a, b, c)

    /// (value, gradients with respect to both arguments).
    let valueAndGrad2 (f: 'A -> 'B -> Tensor) (a: 'A) (b: 'B) : Tensor * ('A * 'B) =
        Guard.notNull "Tree.valueAndGrad2" "f" f
        valueAndGrad (fun (a, b) -> f a b) (a, b)

    // ---- batching ------------------------------------------------------------------------------

    let private axisOf (axis: VmapAxis) =
        match axis with
        | Along a -> ValueSome a
        | Shared -> ValueNone

    /// vmap over the leaves of `x`, leaf i mapped as `axes.[i]` says; the output's leaves carry
    /// the batch along axis 0.
    let private vmapLeavesWith (transform: string) (axes: VmapAxis[]) (f: 'T -> 'U) (x: 'T) : 'U =
        let xs, def = flattenAs "x" x
        let outDef = ref Unchecked.defaultof<TreeDef>

        let ys =
            Batching.vmapMany transform (onLeaves def f outDef) xs (axes |> Array.map axisOf) (fun _ -> 0)

        rebuildAs outDef.Value ys

    /// vmap over a tree: every leaf of `xs` is mapped over its axis 0 (all with one batch
    /// size), and every leaf of the result carries the batch along axis 0. Values that should
    /// be the same for every example are closed over:
    /// `Tree.vmap (fun batch -> Tree.grad (fun p -> loss p batch) model) batches` gives
    /// per-example gradients, each a model-shaped record.
    let vmap (f: 'T -> 'U) (xs: 'T) : 'U =
        Guard.notNull "Tree.vmap" "f" f
        let leaves, _ = flattenAs "x" xs
        vmapLeavesWith "Tree.vmap" (Array.create leaves.Length (Along 0)) f xs

    /// vmap of a curried function of two trees, each mapped `Along axis` (all its leaves) or
    /// `Shared` (JAX's `in_axes=(None, 0)`): `Tree.vmap2 Shared (Along 0) perExampleLoss model batch`.
    let vmap2 (axisA: VmapAxis) (axisB: VmapAxis) (f: 'A -> 'B -> 'U) (a: 'A) (b: 'B) : 'U =
        Guard.notNull "Tree.vmap2" "axisA" axisA
        Guard.notNull "Tree.vmap2" "axisB" axisB
        Guard.notNull "Tree.vmap2" "f" f
        let na, nb = (fst (flattenAs "a" a)).Length, (fst (flattenAs "b" b)).Length
        let axes = Array.append (Array.create na axisA) (Array.create nb axisB)
        vmapLeavesWith "Tree.vmap2" axes (fun (a, b) -> f a b) (a, b)

    /// vmap with the axis of each leaf chosen by its path (as `Tree.flatten` orders the
    /// leaves; a path reads like `x.Layers[1].W`): `axisOf path` is `Along k` or `Shared`.
    let vmapLeaves (axisOf: string -> VmapAxis) (f: 'T -> 'U) (xs: 'T) : 'U =
        Guard.notNull "Tree.vmapLeaves" "axisOf" axisOf
        Guard.notNull "Tree.vmapLeaves" "f" f
        let _, _, paths = flattenWithPaths "x" xs

        let axes =
            paths
            |> Array.map (fun path ->
                let axis = axisOf path

                if obj.ReferenceEquals(axis, null) then
                    Guard.nullArgument "Tree.vmapLeaves" (sprintf "axisOf \"%s\"" path)

                axis)

        vmapLeavesWith "Tree.vmapLeaves" axes f xs

    // ---- jit -----------------------------------------------------------------------------------

    /// jit over trees: `f` traced once per input structure (types, lengths, keys) and leaf
    /// signature (shapes, dtypes), as `jit` is; a training step
    /// `Tree.jit (fun model -> Tree.grad loss model)` is traced once and reused.
    let jit (f: 'T -> 'U) : 'T -> 'U =
        Guard.notNull "Tree.jit" "f" f
        // one cache per input structure: (structure, cache, the output structure it traced)
        let structures = ResizeArray<TreeDef * JitCache.Cache * TreeDef ref>()
        let gate = obj ()

        let cacheFor (def: TreeDef) =
            lock gate (fun () ->
                match structures |> Seq.tryFind (fun (d, _, _) -> d.SameStructure def) with
                | Some(_, cache, outDef) -> cache, outDef
                | None ->
                    if structures.Count >= 16 then
                        structures.RemoveAt 0

                    let outDef = ref Unchecked.defaultof<TreeDef>
                    let cache = JitCache.Cache("Tree.jit", onLeaves def f outDef)
                    structures.Add((def, cache, outDef))
                    cache, outDef)

        fun x ->
            let leaves, def = flattenAs "x" x
            let cache, outDef = cacheFor def
            let ys = cache.Call leaves
            rebuildAs outDef.Value ys
