/// Which equations of a program jit runs together in one fused loop: equations over float64
/// arrays of one shape that declare how they run on a tile (`Primitive.Lanes`: elementwise maps
/// and zips, a pad along the leading axis, a scalar repeated, a sum of every element), grouped
/// greedily in program order. An equation joins the open loop of its shape when every operand
/// is a value of that loop or was computed before the loop starts; otherwise it opens a new one.
/// A loop with fewer than two array-wide members buys nothing over the kernel and is dissolved.
module internal FunDiff.Compiler.Fusion

open System.Collections.Generic
open FunDiff
open FunDiff.Backend

/// What an equation does inside a fused loop.
[<NoEquality; NoComparison>]
type Role =
    /// An elementwise map of one operand.
    | Mapped of map: Elementwise.UnaryKernel
    /// An elementwise function of two operands (each the loop's shape or rank 0).
    | Zipped of zip: Elementwise.BinaryKernel
    /// The sum of every element of its operand (a rank-0 output, ready after the loop).
    | Summed
    /// Its operand (an array computed before the loop) shifted by this many elements, zeros around.
    | ShiftedBy of offset: int
    /// Its rank-0 operand repeated over the loop's shape.
    | Repeats
    /// A window of its operand (an array computed before the loop) from this flat offset on,
    /// read in place.
    | Viewed of offset: int

/// A fused loop: the shape it runs over and its members (equation indices, in program order).
type Group =
    {
        Shape: int[]
        Members: (int * Role)[]
    }

/// One step of the program: an equation run alone, or a fused loop (index into `Groups`).
type Item =
    | Single of equation: int
    | Fused of group: int

/// The grouping of a program.
type Plan =
    {
        Items: Item[]
        Groups: Group[]
        /// Per variable id: the group whose loop computes it (its tiles or its one number), or -1.
        MemberOf: int[]
        /// Per variable id: a loop value that is one number over the whole shape.
        Uniform: bool[]
    }

let private avalOf (a: Atom) =
    match a with
    | Atom.Var v -> v.Aval
    | Atom.Literal t -> t.Aval

/// The role of an equation in a fused loop and the loop's shape, if it can run in one.
let private roleOf (e: Equation) : struct (Role * int[]) voption =
    let inputs = e.InputArray

    if
        e.OutputArray.Length <> 1
        || e.OutputArray.[0].Aval.DType <> Float64
        || inputs |> Array.exists (fun a -> (avalOf a).DType <> Float64)
    then
        ValueNone
    else
        let out = e.OutputArray.[0].Aval
        let shaped (a: Atom) = (avalOf a).Shape = out.Shape
        let scalarOrShaped (a: Atom) = (avalOf a).Rank = 0 || shaped a

        match e.Primitive.Lanes, inputs with
        | LaneKernel.Map map, [| x |] when out.Rank >= 1 && shaped x ->
            ValueSome(struct (Mapped(map e.Params), out.Shape))
        | LaneKernel.Zip zip, [| a; b |] when out.Rank >= 1 && scalarOrShaped a && scalarOrShaped b ->
            ValueSome(struct (Zipped zip, out.Shape))
        | LaneKernel.SumsAll total, [| x |] when out.Rank = 0 && (avalOf x).Rank >= 1 && total e.Params (avalOf x) ->
            ValueSome(struct (Summed, (avalOf x).Shape))
        | LaneKernel.Shift shift, [| Atom.Var x |] when out.Rank >= 1 ->
            match shift e.Params x.Aval with
            | ValueSome offset -> ValueSome(struct (ShiftedBy offset, out.Shape))
            | ValueNone -> ValueNone
        | LaneKernel.Repeat repeats, [| x |] when out.Rank >= 1 && repeats e.Params (avalOf x) ->
            ValueSome(struct (Repeats, out.Shape))
        // (a rank-0 operand lives in a float register, not an array to read in place)
        | LaneKernel.View view, [| Atom.Var x |] when out.Rank >= 1 && x.Aval.Rank >= 1 ->
            match view e.Params x.Aval with
            | ValueSome offset -> ValueSome(struct (Viewed offset, out.Shape))
            | ValueNone -> ValueNone
        | _ -> ValueNone

/// Members that make a pass over the arrays (a repeat or a one-number value costs nothing).
let private isArrayWork (uniform: bool[]) (program: Program) (index: int, role: Role) =
    match role with
    | Repeats
    | Viewed _ -> false
    | Summed
    | ShiftedBy _ -> true
    | Mapped _
    | Zipped _ -> not uniform.[program.EquationArray.[index].OutputArray.[0].Id]

/// Groups a program's equations into fused loops.
let plan (p: Program) : Plan =
    let equations = p.EquationArray
    // the step after which a variable is available (-1: before every step)
    let position = Array.create p.NumVars -1
    let memberOf = Array.create p.NumVars -1
    let uniform = Array.zeroCreate<bool> p.NumVars
    let items = ResizeArray<Item>()
    let groups = ResizeArray<int[] * int * ResizeArray<int * Role>>()
    let openGroup = Dictionary<int[], int>(HashIdentity.Structural)

    // whether operand `a` of an equation with role `role` can be read inside group g
    let readable (g: int) (role: Role) (a: Atom) =
        match a with
        | Atom.Literal _ -> true
        | Atom.Var v when memberOf.[v.Id] = g ->
            match role with
            // a shift or a window reads a whole array; a sum of one number is not a pass over
            // elements
            | ShiftedBy _
            | Viewed _ -> false
            | Summed -> not uniform.[v.Id]
            | _ -> true
        | Atom.Var v ->
            let _, start, _ = groups.[g]
            position.[v.Id] < start

    let isUniformOperand (g: int) (a: Atom) =
        match a with
        | Atom.Literal _ -> true
        | Atom.Var v -> v.Aval.Rank = 0 || (memberOf.[v.Id] = g && uniform.[v.Id])

    for i in 0 .. equations.Length - 1 do
        let e = equations.[i]

        match roleOf e with
        | ValueSome(struct (role, shape)) ->
            let g =
                match openGroup.TryGetValue shape with
                | true, g when e.InputArray |> Array.forall (readable g role) -> g
                | _ ->
                    groups.Add((shape, items.Count, ResizeArray()))
                    items.Add(Fused(groups.Count - 1))
                    openGroup.[shape] <- groups.Count - 1
                    groups.Count - 1

            let _, start, members = groups.[g]
            members.Add((i, role))
            let out = e.OutputArray.[0]
            position.[out.Id] <- start

            match role with
            | Summed -> ()
            | _ ->
                memberOf.[out.Id] <- g

                uniform.[out.Id] <-
                    match role with
                    | Repeats -> true
                    | Mapped _
                    | Zipped _ -> e.InputArray |> Array.forall (isUniformOperand g)
                    | Summed
                    | ShiftedBy _
                    | Viewed _ -> false
        | ValueNone ->
            items.Add(Single i)

            for v in e.OutputArray do
                position.[v.Id] <- items.Count - 1

    // dissolve the loops that would make fewer than two passes: their equations run alone
    let dissolved =
        groups
        |> Seq.map (fun (_, _, members) -> (members |> Seq.filter (isArrayWork uniform p) |> Seq.length) < 2)
        |> Array.ofSeq

    let kept = Dictionary<int, int>()
    let finalGroups = ResizeArray<Group>()

    let finalItems =
        [|
            for item in items do
                match item with
                | Single i -> yield Single i
                | Fused g when dissolved.[g] ->
                    let _, _, members = groups.[g]

                    for (i, _) in members do
                        for v in equations.[i].OutputArray do
                            memberOf.[v.Id] <- -1
                            uniform.[v.Id] <- false

                        yield Single i
                | Fused g ->
                    let shape, _, members = groups.[g]
                    kept.[g] <- finalGroups.Count

                    finalGroups.Add(
                        {
                            Shape = shape
                            Members = members.ToArray()
                        }
                    )

                    yield Fused(finalGroups.Count - 1)
        |]

    for v in 0 .. memberOf.Length - 1 do
        if memberOf.[v] >= 0 then
            memberOf.[v] <- kept.[memberOf.[v]]

    {
        Items = finalItems
        Groups = finalGroups.ToArray()
        MemberOf = memberOf
        Uniform = uniform
    }
