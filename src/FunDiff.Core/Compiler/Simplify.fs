/// Algebraic simplification, one of jit's passes: identities the primitives declare
/// (`Primitive.RightIdentity`, `LeftIdentity`, `LeftConstant`, `Involution`, `IsNoOp`,
/// `Compose`, `BroadcastsScalar`) applied in one forward walk that renames the variables it
/// removes, as CSE does. It names no primitive: a primitive that declares nothing (a
/// user-defined one, jit) is never rewritten, nor is an impure one.
///
/// What it rewrites (each only when the result has exactly the aval, dtype included, of what
/// it replaces, checked by the primitive's own shape rule):
/// - `op x e` with `e` the right identity (a literal, or a broadcast of one) → `x`; `op e y`
///   with `e` the left identity → `y` (x·1, x/1, x+0, x−0, 0+y, 1·y). When the identity's
///   broadcast gives the result its shape (a rank-0 `x` times a broadcast 1), the broadcast is
///   applied to `x` instead.
/// - `op c y` with `op c y = u y` declared (0 − y) → `u y` (neg y).
/// - `f (f x)` of an involution (neg) → `x`.
/// - `f[q] (f[p] x)` of a primitive that composes (transpose, reshape, broadcast_in_dim) →
///   `f[p∘q] x`; an application that is a no-op on its operand's aval (identity permutation,
///   reshape to its own shape, convert to its own dtype) → the operand.
/// - a broadcast of a rank-0 value read by an elementwise binary primitive (which broadcasts a
///   rank-0 operand itself) whose result keeps its aval → the rank-0 value.
///
/// x·0 is not rewritten to 0: x·0 is NaN for x = ±∞ or NaN, so the rewrite would hide a NaN
/// (and the NaN checks) and change values. The identities above hold for every operand, NaN
/// and infinities included, up to the sign of a zero result: x + 0 for x = −0 is +0 in IEEE
/// arithmetic but x after the rewrite, and 0 − y for y = +0 is +0 but neg y is −0 (as XLA's
/// algebraic simplifier does; a signed zero shows only through 1/z, atan2 or sign).
///
/// Symbolic zeros and ones (the broadcasts of a literal that transposition and JVP rules
/// instantiate) are hoisted: every reader of one that can take the rank-0 literal reads the
/// literal, and DCE then drops the broadcast. One that must remain (a program output that is
/// zeros, an operand of a primitive that does not broadcast rank-0 operands, such as pad or
/// dot_general) costs little: `Layout.broadcastInDim` of one value makes a uniform NDArray
/// (`NDArray.uniform`), which stores the value once and is materialized only if a kernel that
/// does not know the uniform form reads it.
module internal FunDiff.Compiler.Simplify

open FunDiff

/// The value of a rank-0 literal.
let private literalValue (a: Atom) =
    match a with
    | Atom.Literal(:? ConcreteTensor as c) when c.Aval.Rank = 0 -> ValueSome(c.Array.At 0)
    | _ -> ValueNone

/// Whether the primitive's shape rule, applied to these operands and params, gives exactly the
/// avals of `outputs` (so a rewritten equation defines the same variables, dtype included).
let private fits (prim: Primitive) (pars: Params) (inputs: Atom[]) (outputs: Var[]) =
    try
        let avals = prim.ShapeRule (inputs |> Array.map (fun a -> a.Aval)) pars

        avals.Length = outputs.Length
        && Array.forall2 (fun (a: Aval) (v: Var) -> a.Equals v.Aval) avals outputs
    with :? FunDiffException ->
        false

/// What one equation becomes.
[<NoEquality; NoComparison>]
type private Rewrite =
    /// Its (single) output is this operand.
    | Alias of Atom
    /// It is this equation instead (simplified in turn).
    | Replace of Equation
    /// It stays.
    | Keep

/// How deep one equation's rewrites may chain (each one removes an application or a
/// broadcast operand, so chains are short; the bound only guards against a primitive whose
/// declarations contradict each other).
let private maxChain = 16

/// The simplification pass: one forward walk, every equation's operands renamed first, so an
/// equation sees the simplified definitions of its operands.
let simplify (p: Program) : Program =
    // each variable's replacement (null: itself)
    let rename = Array.zeroCreate<Atom> p.NumVars
    // the kept equation that defines each variable (null for inputs, consts and removed ones)
    let definition = Array.zeroCreate<Equation> p.NumVars

    let atom (a: Atom) =
        match a with
        | Atom.Var v when not (isNull (box rename.[v.Id])) -> rename.[v.Id]
        | a -> a

    let definitionOf (a: Atom) =
        match a with
        | Atom.Var v when not (isNull (box definition.[v.Id])) -> ValueSome definition.[v.Id]
        | _ -> ValueNone

    // the equation broadcasting a rank-0 value that defines `a`
    let broadcastOf (a: Atom) =
        match definitionOf a with
        | ValueSome e when
            e.Primitive.BroadcastsScalar
            && e.Primitive.Pure
            && e.InputArray.Length = 1
            && e.InputArray.[0].Aval.Rank = 0
            ->
            ValueSome e
        | _ -> ValueNone

    // the one value of `a`: a rank-0 literal, or a broadcast of one
    let constantOf (a: Atom) =
        match literalValue a with
        | ValueSome v -> ValueSome v
        | ValueNone ->
            match broadcastOf a with
            | ValueSome e -> literalValue e.InputArray.[0]
            | ValueNone -> ValueNone

    let isValue (e: float voption) (c: float voption) =
        e.IsSome && c.IsSome && e.Value = c.Value

    // `x` stands for the output when it has the output's aval; otherwise, when `x` is rank 0
    // and `shaping` (the identity's broadcast) gave the output its shape, that broadcast of `x`
    let identityResult (x: Atom) (shaping: Atom) (outputs: Var[]) =
        if x.Aval.Equals outputs.[0].Aval then
            Alias x
        else
            match broadcastOf shaping with
            | ValueSome b when x.Aval.Rank = 0 && fits b.Primitive b.Params [| x |] outputs ->
                Replace(Equation(b.Primitive, b.Params, [| x |], outputs))
            | _ -> Keep

    let unary (e: Equation) =
        let prim, x, outputs = e.Primitive, e.InputArray.[0], e.OutputArray

        if
            prim.IsNoOp.IsSome
            && prim.IsNoOp.Value x.Aval e.Params
            && x.Aval.Equals outputs.[0].Aval
        then
            Alias x
        else
            match definitionOf x with
            | ValueSome inner when
                obj.ReferenceEquals(inner.Primitive, prim)
                && inner.InputArray.Length = 1
                && inner.OutputArray.Length = 1
                ->
                let y = inner.InputArray.[0]

                if prim.Involution && y.Aval.Equals outputs.[0].Aval then
                    Alias y
                elif prim.Compose.IsSome then
                    let pars = prim.Compose.Value inner.Params e.Params

                    if fits prim pars [| y |] outputs then
                        Replace(Equation(prim, pars, [| y |], outputs))
                    else
                        Keep
                else
                    Keep
            | _ -> Keep

    let binary (e: Equation) =
        let prim, outputs = e.Primitive, e.OutputArray
        let a, b = e.InputArray.[0], e.InputArray.[1]

        // a broadcast rank-0 operand of a primitive that broadcasts rank-0 operands itself:
        // the rank-0 value, if the output keeps its aval (right operand first, then left)
        let scalarOperand =
            match prim.Scalar with
            | ScalarFunction.Binary _ ->
                [ 1; 0 ]
                |> List.tryPick (fun side ->
                    match broadcastOf e.InputArray.[side] with
                    | ValueNone -> None
                    | ValueSome bc ->
                        let inputs = Array.copy e.InputArray
                        inputs.[side] <- bc.InputArray.[0]

                        if fits prim e.Params inputs outputs then
                            Some(Replace(Equation(prim, e.Params, inputs, outputs)))
                        else
                            None)
            | _ -> None

        match scalarOperand with
        | Some rewrite -> rewrite
        | None ->
            let right =
                if isValue prim.RightIdentity (constantOf b) then
                    identityResult a b outputs
                else
                    Keep

            let left =
                match right with
                | Keep when isValue prim.LeftIdentity (constantOf a) -> identityResult b a outputs
                | r -> r

            match left with
            | Keep when prim.LeftConstant.IsSome ->
                let struct (c, u) = prim.LeftConstant.Value

                if
                    isValue (ValueSome c) (constantOf a)
                    && u.Pure
                    && fits u Params.Empty [| b |] outputs
                then
                    Replace(Equation(u, Params.Empty, [| b |], outputs))
                else
                    Keep
            | r -> r

    let kept = ResizeArray<Equation>()

    let keep (e: Equation) =
        kept.Add e

        for v in e.OutputArray do
            definition.[v.Id] <- e

    let rec emit (depth: int) (e: Equation) =
        let rewrite =
            if not e.Primitive.Pure || e.OutputArray.Length <> 1 || depth >= maxChain then
                Keep
            else
                match e.InputArray.Length with
                | 1 -> unary e
                | 2 -> binary e
                | _ -> Keep

        match rewrite with
        | Alias x -> rename.[e.OutputArray.[0].Id] <- x
        | Replace next -> emit (depth + 1) next
        | Keep -> keep e

    for e in p.EquationArray do
        emit 0 (Equation(e.Primitive, e.Params, e.InputArray |> Array.map atom, e.OutputArray))

    Program(p.ConstVarArray, p.ConstArray, p.InVarArray, kept.ToArray(), p.OutputArray |> Array.map atom, p.NumVars)
