/// Optimization passes over a program, run by jit before it compiles a body. Each takes a
/// program and returns an equivalent one (same inputs, outputs and values); none names a
/// primitive: what they need, a primitive declares (built-ins are pure; a user-defined
/// primitive may not be, so it is never merged).
module internal FunDiff.Compiler.Passes

open System.Collections.Generic
open FunDiff

/// Whether two applications of the primitive on the same operands give the same values (what
/// the primitive declares: built-ins and jit do; a user-defined one's impl may count or print).
let private isPure (prim: Primitive) = prim.Pure

/// An operand as a key: a variable by id, a literal by its value's bits and dtype.
[<Struct; CustomEquality; NoComparison>]
type private OperandKey =
    | VarKey of id: int
    | LiteralKey of bits: int64 * dtype: DType

    override k.Equals(o: obj) =
        match o with
        | :? OperandKey as other ->
            match k, other with
            | VarKey a, VarKey b -> a = b
            | LiteralKey(a, da), LiteralKey(b, db) -> a = b && da = db
            | _ -> false
        | _ -> false

    override k.GetHashCode() =
        match k with
        | VarKey a -> a
        | LiteralKey(bits, d) -> hash (bits, d)

let private literalValue (t: Tensor) =
    match t with
    | :? ConcreteTensor as c when c.Aval.Rank = 0 -> ValueSome(c.Array.At 0)
    | _ -> ValueNone

/// A total order on operand keys (variables by id, before literals by bits).
let private order (k: OperandKey) =
    match k with
    | VarKey id -> struct (0, int64 id)
    | LiteralKey(bits, _) -> struct (1, bits)

/// Common-subexpression elimination: a pure equation whose primitive, params and operands
/// (after earlier merges; in either order for a commutative primitive) equal an earlier one's
/// reuses that one's outputs. One forward walk.
let cse (p: Program) : Program =
    // each variable's replacement (itself unless merged)
    let rename = Array.init p.NumVars id

    let seen =
        Dictionary<struct (int * Params * OperandKey[]), Var[]>(HashIdentity.Structural)

    let atom (a: Atom) =
        match a with
        | Atom.Var v when rename.[v.Id] <> v.Id -> Atom.Var(Var(rename.[v.Id], v.Aval))
        | a -> a

    let keyOf (a: Atom) =
        match a with
        | Atom.Var v -> ValueSome(VarKey v.Id)
        | Atom.Literal t ->
            match literalValue t with
            | ValueSome v -> ValueSome(LiteralKey(System.BitConverter.DoubleToInt64Bits v, t.DType))
            | ValueNone -> ValueNone

    let kept = ResizeArray<Equation>()

    for e in p.EquationArray do
        let inputs = e.InputArray |> Array.map atom
        let keys = inputs |> Array.map keyOf

        let merged =
            if isPure e.Primitive && keys |> Array.forall (fun k -> k.IsSome) then
                let operands = keys |> Array.map (fun k -> k.Value)

                // a commutative primitive's two operands in one canonical order (by hash, then
                // kind): `mul e f` and `mul f e` get one key
                if
                    e.Primitive.Commutative
                    && operands.Length = 2
                    && order operands.[1] < order operands.[0]
                then
                    let first = operands.[0]
                    operands.[0] <- operands.[1]
                    operands.[1] <- first

                let key = struct (e.Primitive.Id, e.Params, operands)

                match seen.TryGetValue key with
                | true, earlier ->
                    for k in 0 .. earlier.Length - 1 do
                        rename.[e.OutputArray.[k].Id] <- earlier.[k].Id

                    true
                | _ ->
                    seen.[key] <- e.OutputArray
                    false
            else
                false

        if not merged then
            kept.Add(Equation(e.Primitive, e.Params, inputs, e.OutputArray))

    Program(p.ConstVarArray, p.ConstArray, p.InVarArray, kept.ToArray(), p.OutputArray |> Array.map atom, p.NumVars)

/// Dead-code elimination: equations none of whose outputs reaches the program's outputs are
/// dropped (impure ones too: evaluation never promised to run them, as staging drops them).
let dce (p: Program) : Program =
    let live = Array.zeroCreate<bool> p.NumVars

    let mark (a: Atom) =
        match a with
        | Atom.Var v -> live.[v.Id] <- true
        | Atom.Literal _ -> ()

    p.OutputArray |> Array.iter mark
    let keep = Array.zeroCreate<bool> p.EquationArray.Length

    for i in p.EquationArray.Length - 1 .. -1 .. 0 do
        let e = p.EquationArray.[i]

        if e.OutputArray |> Array.exists (fun v -> live.[v.Id]) then
            keep.[i] <- true
            e.InputArray |> Array.iter mark

    let kept =
        [|
            for i in 0 .. keep.Length - 1 do
                if keep.[i] then
                    p.EquationArray.[i]
        |]

    Program(p.ConstVarArray, p.ConstArray, p.InVarArray, kept, p.OutputArray, p.NumVars)

/// Constant folding: a pure equation whose operands are all literals and whose outputs are
/// scalars is evaluated once, here, and its outputs become literals (`div 1.0 4.0` of a mean
/// becomes `0.25`). Array results are not folded: they would be constants held by the program.
let fold (p: Program) : Program =
    let literal = Array.zeroCreate<Tensor> p.NumVars

    let atom (a: Atom) =
        match a with
        | Atom.Var v when not (isNull (box literal.[v.Id])) -> Atom.Literal literal.[v.Id]
        | a -> a

    let kept = ResizeArray<Equation>()
    let saved = Interpreter.Enter null

    try
        for e in p.EquationArray do
            let inputs = e.InputArray |> Array.map atom

            let foldable =
                isPure e.Primitive
                && inputs.Length > 0
                && inputs
                   |> Array.forall (function
                       | Atom.Literal _ -> true
                       | Atom.Var _ -> false)
                && e.OutputArray |> Array.forall (fun v -> v.Aval.Rank = 0)

            if foldable then
                let values =
                    Interpreter.Bind(
                        e.Primitive,
                        inputs
                        |> Array.map (function
                            | Atom.Literal t -> t
                            | Atom.Var _ -> invalidOp "not a literal"),
                        e.Params
                    )

                e.OutputArray |> Array.iteri (fun k v -> literal.[v.Id] <- values.[k])
            else
                kept.Add(Equation(e.Primitive, e.Params, inputs, e.OutputArray))
    finally
        Interpreter.Restore saved

    Program(p.ConstVarArray, p.ConstArray, p.InVarArray, kept.ToArray(), p.OutputArray |> Array.map atom, p.NumVars)

/// The algebraic simplification pass (Simplify.fs): identities the primitives declare.
let simplify (p: Program) : Program = Simplify.simplify p

/// Every pass, in order: the program jit compiles. Simplification runs after folding (so a
/// folded scalar can be an identity) and is followed by folding again (an equation whose
/// operand became a literal through it), then CSE and DCE, which drops what it left unread.
let optimize (p: Program) : Program =
    p |> fold |> simplify |> fold |> cse |> dce
