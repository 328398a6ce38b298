/// The rules table: one immutable value gathering every family's rules, indexed by primitive
/// id. The transforms read rules only from here (or from a user-defined primitive itself), so
/// F# initializes this file before the first transform needs it: nothing registers by side
/// effect.
module FunDiff.Rules.Table

open FunDiff

let private allFamilies =
    List.concat
        [
            Arithmetic.rules
            Transcendental.rules
            Structural.rules
            Logical.rules
            Piecewise.rules
            Reduction.rules
            Indexing.rules
            Contraction.rules
            Factorizations.rules
            Sorting.rules
            IndexUpdates.rules
            Windows.rules
            Rounding.rules
            Special.rules
        ]

/// Every built-in primitive's rules, at the index of its `Id`.
let table: PrimitiveRules[] =
    let entries = allFamilies

    let size = 1 + (entries |> List.map (fun (p: Primitive, _) -> p.Id) |> List.max)
    let arr = Array.zeroCreate size

    for (prim, rules) in entries do
        arr.[prim.Id] <- rules

    arr

/// The built-in primitives that have rules (the property tests iterate over these).
let primitives: Primitive list = allFamilies |> List.map fst

/// The rules of a primitive: its own if user-defined, else the table's.
let lookup (prim: Primitive) : PrimitiveRules =
    match prim.OwnRules with
    | :? PrimitiveRules as own -> own
    | _ ->
        let found =
            if prim.Id < table.Length then
                table.[prim.Id]
            else
                Unchecked.defaultof<_>

        if isNull (box found) then
            raise (
                TransformException(sprintf "%s: this primitive has no rules; it cannot be differentiated." prim.Name)
            )

        found
