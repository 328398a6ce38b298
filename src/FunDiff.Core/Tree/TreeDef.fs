// Room: tree structure: flattening records, tuples, lists, arrays and maps of tensors into leaves and back.
namespace FunDiff

open System
open System.Collections
open System.Collections.Concurrent
open System.Collections.Generic
open System.Reflection
open Microsoft.FSharp.Reflection

/// How one type of tree node is taken apart and rebuilt. Computed once per type (reflection)
/// and cached; the per-value parts (list lengths, map keys, union cases) live in the node.
type internal NodePlan =
    {
        /// The child values, in order, with the static type each child is expected to have.
        Children: obj -> (obj * Type)[]
        /// The path segment of child i (`.Weights`, `[2]`, `["bias"]`).
        ChildName: obj -> int -> string
        /// What a rebuild needs besides the children (keys, union case, a template).
        Aux: obj -> obj
        /// Builds a value from its aux and rebuilt children.
        Rebuild: obj -> obj[] -> obj
    }

/// The structure of one tree value: which leaves it has and how to rebuild it.
type internal TreeNode =
    | TensorLeaf
    /// A float leaf; it cannot carry a tracer, so the path is kept for the error.
    | FloatLeaf of path: string
    | Node of plan: NodePlan * nodeType: Type * aux: obj * children: TreeNode[]
    /// A value that is not a tree (only in lenient flattening, e.g. of has_aux outputs).
    | Opaque of value: obj

/// The structure of a tree (a value whose leaves are tensors or floats), as returned by
/// `Tree.flatten`: `Tree.unflatten` rebuilds a value of the same structure from new leaves.
[<Sealed>]
type TreeDef internal (root: TreeNode, leafCount: int) =
    member internal _.Root = root
    /// The number of leaves.
    member _.LeafCount = leafCount

    /// Whether another value has the same structure (types, lengths, keys, union cases).
    member _.SameStructure(other: TreeDef) =
        let rec same (a: TreeNode) (b: TreeNode) =
            match a, b with
            | TensorLeaf, TensorLeaf -> true
            | FloatLeaf _, FloatLeaf _ -> true
            | Opaque a, Opaque b -> obj.Equals(a, b)
            | Node(_, ta, auxA, ca), Node(_, tb, auxB, cb) ->
                ta = tb
                && ca.Length = cb.Length
                && TreeDef.SameAux(auxA, auxB)
                && Array.forall2 same ca cb
            | _ -> false

        same root other.Root

    static member private SameAux(a: obj, b: obj) =
        match a, b with
        | (:? (string[]) as x), (:? (string[]) as y) -> x = y
        | (:? (string[] * obj) as x), (:? (string[] * obj) as y) -> fst x = fst y
        | (:? UnionCaseInfo as x), (:? UnionCaseInfo as y) -> x.Tag = y.Tag
        | (:? int as x), (:? int as y) -> x = y
        | _ -> true

/// User-registered node types (flatten/rebuild functions), consulted before the built-in ones.
type internal TreeRegistry private () =
    static let registered = ConcurrentDictionary<Type, NodePlan>()
    static member Registered = registered

/// Taking trees apart and putting them back together.
module internal TreePlans =

    let private plans = ConcurrentDictionary<Type, NodePlan option>()

    let private notALeaf (path: string) (t: Type) =
        raise (
            TransformException(
                sprintf
                    "Tree: the leaf %s has type %s; tree leaves must be Tensor or float (double). Keep other values out of the argument that is differentiated (capture them in a closure), or register the type with Tree.register."
                    path
                    t.Name
            )
        )

    let private isGeneric (def: Type) (t: Type) =
        t.IsGenericType && t.GetGenericTypeDefinition() = def

    let private tuplePlan (t: Type) =
        let read = FSharpValue.PreComputeTupleReader t
        let make = FSharpValue.PreComputeTupleConstructor t
        let types = FSharpType.GetTupleElements t

        {
            Children = fun v -> Array.zip (read v) types
            ChildName = fun _ i -> sprintf ".Item%d" (i + 1)
            Aux = fun _ -> null
            Rebuild = fun _ children -> make children
        }

    let private recordPlan (t: Type) =
        let fields =
            FSharpType.GetRecordFields(t, BindingFlags.Public ||| BindingFlags.NonPublic)

        let read =
            FSharpValue.PreComputeRecordReader(t, BindingFlags.Public ||| BindingFlags.NonPublic)

        let make =
            FSharpValue.PreComputeRecordConstructor(t, BindingFlags.Public ||| BindingFlags.NonPublic)

        let types = fields |> Array.map (fun f -> f.PropertyType)

        {
            Children = fun v -> Array.zip (read v) types
            ChildName = fun _ i -> "." + fields.[i].Name
            Aux = fun _ -> null
            Rebuild = fun _ children -> make children
        }

    // any F# union (options and single-case unions included): the case is per value
    let private unionPlan (t: Type) =
        let flags = BindingFlags.Public ||| BindingFlags.NonPublic
        let cases = FSharpType.GetUnionCases(t, flags)

        let makers =
            cases |> Array.map (fun c -> FSharpValue.PreComputeUnionConstructor(c, flags))

        let tagOf = FSharpValue.PreComputeUnionTagReader(t, flags)

        let readers =
            cases |> Array.map (fun c -> FSharpValue.PreComputeUnionReader(c, flags))

        let fields = cases |> Array.map (fun c -> c.GetFields())

        {
            Children =
                fun v ->
                    let tag = tagOf v
                    Array.zip (readers.[tag]v) (fields.[tag] |> Array.map (fun f -> f.PropertyType))
            ChildName = fun v i -> "." + fields.[tagOf v].[i].Name
            Aux = fun v -> box cases.[tagOf v]
            Rebuild = fun aux children -> makers.[(aux :?> UnionCaseInfo).Tag]children
        }

    let private fsharpListPlan (t: Type) =
        let element = t.GetGenericArguments().[0]
        let empty = t.GetProperty("Empty").GetValue(null)
        let cons = t.GetMethod("Cons")

        {
            Children = fun v -> [| for item in (v :?> IEnumerable) -> item, element |]
            ChildName = fun _ i -> sprintf "[%d]" i
            Aux = fun _ -> null
            Rebuild =
                fun _ children ->
                    let mutable list = empty

                    for i in children.Length - 1 .. -1 .. 0 do
                        list <- cons.Invoke(null, [| children.[i]; list |])

                    list
        }

    let private arrayPlan (t: Type) =
        let element = t.GetElementType()

        {
            Children = fun v -> [| for item in (v :?> Array) -> item, element |]
            ChildName = fun _ i -> sprintf "[%d]" i
            Aux = fun _ -> null
            Rebuild =
                fun _ children ->
                    let a = Array.CreateInstance(element, children.Length)
                    children |> Array.iteri (fun i c -> a.SetValue(c, i))
                    box a
        }

    let private resizeArrayPlan (t: Type) =
        let element = t.GetGenericArguments().[0]

        {
            Children = fun v -> [| for item in (v :?> IEnumerable) -> item, element |]
            ChildName = fun _ i -> sprintf "[%d]" i
            Aux = fun _ -> null
            Rebuild =
                fun _ children ->
                    let list = Activator.CreateInstance(t) :?> IList
                    children |> Array.iter (list.Add >> ignore)
                    box list
        }

    /// Map<string, 'V> and Dictionary<string, 'V>: children in key order; the keys (and, for a
    /// dictionary, its comparer) as aux.
    let private keyedPlan (t: Type) (extra: obj -> obj) (make: string[] -> obj -> obj[] -> obj) =
        let valueType = t.GetGenericArguments().[1]

        let entries (v: obj) =
            [|
                for entry in (v :?> IEnumerable) do
                    let e = entry.GetType()
                    string (e.GetProperty("Key").GetValue entry), e.GetProperty("Value").GetValue entry
            |]
            |> Array.sortBy fst

        {
            Children = fun v -> entries v |> Array.map (fun (_, value) -> value, valueType)
            ChildName = fun v i -> sprintf "[\"%s\"]" (fst (entries v).[i])
            Aux = fun v -> box (entries v |> Array.map fst, extra v)
            Rebuild =
                fun aux children ->
                    let keys, extra = aux :?> (string[] * obj)
                    make keys extra children
        }

    let private mapPlan (t: Type) =
        let valueType = t.GetGenericArguments().[1]
        let pair = FSharpType.MakeTupleType [| typeof<string>; valueType |]

        keyedPlan t (fun _ -> null) (fun keys _ values ->
            let pairs = Array.CreateInstance(pair, keys.Length)

            for i in 0 .. keys.Length - 1 do
                pairs.SetValue(FSharpValue.MakeTuple([| box keys.[i]; values.[i] |], pair), i)

            Activator.CreateInstance(t, [| box pairs |]))

    let private dictionaryPlan (t: Type) =
        let comparer = t.GetProperty("Comparer")

        keyedPlan t (fun v -> comparer.GetValue v) (fun keys comparer values ->
            // rebuilt with the original's comparer (a case-insensitive dictionary stays one)
            let d = Activator.CreateInstance(t, [| comparer |]) :?> IDictionary
            Array.iter2 (fun (k: string) v -> d.Add(k, v)) keys values
            box d)

    /// A class or C# record: its public readable properties, rebuilt through the constructor
    /// whose parameters match them by name, or a parameterless constructor and setters.
    let private objectPlan (t: Type) =
        let readable =
            t.GetProperties(BindingFlags.Public ||| BindingFlags.Instance)
            |> Array.filter (fun p -> p.CanRead && p.GetIndexParameters().Length = 0)
            |> Array.sortBy (fun p -> p.MetadataToken)

        let byName (name: string) =
            readable
            |> Array.tryFind (fun p -> String.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))

        // the widest constructor whose every parameter names a readable property (a C# record's
        // primary constructor); computed properties that it does not take are not children
        let constructor =
            t.GetConstructors()
            |> Array.filter (fun c ->
                let ps = c.GetParameters()
                ps.Length > 0 && ps |> Array.forall (fun p -> (byName p.Name).IsSome))
            |> Array.sortByDescending (fun c -> c.GetParameters().Length)
            |> Array.tryHead

        let make (properties: PropertyInfo[]) (rebuild: obj[] -> obj) =
            Some
                {
                    Children =
                        fun v ->
                            properties
                            |> Array.map (fun p ->
                                p.GetValue(v, BindingFlags.DoNotWrapExceptions, null, null, null), p.PropertyType)
                    ChildName = fun _ i -> "." + properties.[i].Name
                    Aux = fun _ -> null
                    Rebuild = fun _ children -> rebuild children
                }

        match constructor, t.GetConstructor(Type.EmptyTypes) with
        | Some c, _ ->
            let properties = c.GetParameters() |> Array.map (fun p -> (byName p.Name).Value)
            make properties (fun children -> c.Invoke(BindingFlags.DoNotWrapExceptions, null, children, null))
        | None, null -> None
        | None, parameterless ->
            // a parameterless constructor and setters: the settable properties are the children
            let properties =
                readable |> Array.filter (fun p -> p.CanWrite && p.SetMethod.IsPublic)

            if properties.Length = 0 then
                None
            else
                make properties (fun children ->
                    let v = parameterless.Invoke(BindingFlags.DoNotWrapExceptions, null, [||], null)

                    properties
                    |> Array.iteri (fun i p ->
                        p.SetValue(v, children.[i], BindingFlags.DoNotWrapExceptions, null, null, null))

                    v)

    let private computePlan (t: Type) : NodePlan option =
        if FSharpType.IsTuple t then
            Some(tuplePlan t)
        elif FSharpType.IsRecord(t, BindingFlags.Public ||| BindingFlags.NonPublic) then
            Some(recordPlan t)
        elif isGeneric typedefof<list<_>> t then
            Some(fsharpListPlan t)
        elif FSharpType.IsUnion(t, BindingFlags.Public ||| BindingFlags.NonPublic) then
            Some(unionPlan t)
        elif t.IsArray && t.GetArrayRank() = 1 then
            Some(arrayPlan t)
        elif isGeneric typedefof<Map<_, _>> t && t.GetGenericArguments().[0] = typeof<string> then
            Some(mapPlan t)
        elif
            isGeneric typedefof<Dictionary<_, _>> t
            && t.GetGenericArguments().[0] = typeof<string>
        then
            Some(dictionaryPlan t)
        elif isGeneric typedefof<List<_>> t then
            Some(resizeArrayPlan t)
        elif (isGeneric typedefof<Map<_, _>> t || isGeneric typedefof<Dictionary<_, _>> t) then
            raise (
                TransformException(
                    sprintf
                        "Tree: %s has keys of type %s; maps and dictionaries in trees need string keys."
                        t.Name
                        (t.GetGenericArguments().[0].Name)
                )
            )
        elif t.IsPrimitive || t = typeof<string> || t = typeof<decimal> || t.IsEnum then
            None
        elif t.IsClass || t.IsValueType then
            objectPlan t
        else
            None

    /// The plan of a node type: registered, else built-in (computed once per type).
    let planOf (t: Type) =
        match TreeRegistry.Registered.TryGetValue t with
        | true, plan -> Some plan
        | _ -> plans.GetOrAdd(t, computePlan)

    /// Takes a value apart: its leaves (appended to `leaves`, their paths to `paths`) and its
    /// structure. Lenient flattening keeps values that are not trees as opaque nodes.
    let rec flattenWith
        (lenient: bool)
        (value: obj)
        (declared: Type)
        (path: string)
        (leaves: ResizeArray<Tensor>)
        (paths: ResizeArray<string>)
        : TreeNode =
        match value with
        | :? Tensor as t ->
            leaves.Add t
            paths.Add path
            TensorLeaf
        | :? float as f ->
            leaves.Add(Tensor.Scalar f)
            paths.Add path
            FloatLeaf path
        | null when typeof<Tensor>.IsAssignableFrom declared ->
            raise (TransformException(sprintf "Tree: the leaf %s is null; every Tensor leaf needs a value." path))
        | _ ->
            // a null is a None (or an empty value) of its declared type
            let t = if isNull value then declared else value.GetType()

            match
                (try
                    planOf t
                 with _ when lenient ->
                     None)
            with
            | Some plan ->
                let children = plan.Children value

                let nodes =
                    children
                    |> Array.mapi (fun i (child, childType) ->
                        flattenWith lenient child childType (path + plan.ChildName value i) leaves paths)

                Node(plan, t, plan.Aux value, nodes)
            | None when lenient -> Opaque value
            | None -> notALeaf path t

    /// Strict flattening: every leaf must be a tensor or a float.
    let flattenInto
        (value: obj)
        (declared: Type)
        (path: string)
        (leaves: ResizeArray<Tensor>)
        (paths: ResizeArray<string>)
        =
        flattenWith false value declared path leaves paths

    /// Rebuilds a value from a structure and leaves (consumed from `position`).
    let rec rebuild (node: TreeNode) (leaves: Tensor[]) (position: int ref) : obj =
        match node with
        | TensorLeaf ->
            let leaf = leaves.[position.Value]
            position.Value <- position.Value + 1
            box leaf
        | FloatLeaf path ->
            let leaf = leaves.[position.Value]
            position.Value <- position.Value + 1

            match leaf with
            | :? Tracer ->
                raise (
                    TransformException(
                        sprintf
                            "Tree: the leaf %s is a float, which cannot carry a derivative. Make it a Tensor (Tensor.scalar) to differentiate it, or keep it out of the differentiated argument."
                            path
                    )
                )
            | _ -> box (leaf.ToScalar())
        | Node(plan, _, aux, children) ->
            let values = children |> Array.map (fun c -> rebuild c leaves position)
            plan.Rebuild aux values
        | Opaque value -> value
