// Room: the rule types (JVP, transpose) and the helpers that write a rule in one line.
namespace FunDiff

/// A JVP rule: given the primal inputs, their tangents (`ValueNone` is a symbolic zero), the
/// params and the primal outputs (computed by the trace), return the output tangents. Written
/// with ops, so it is differentiable again; it touches each tangent once.
type JvpRule = Tensor[] -> Tensor voption[] -> Params -> Tensor[] -> Tensor voption[]

/// An operand as a transpose rule sees it: a known (non-linear) value, or the linear input
/// whose cotangent the rule computes (only its aval is known).
[<Struct>]
type LinearArg =
    | Known of value: Tensor
    | Linear of aval: Aval

/// A transpose rule of a linear primitive: given the output cotangents (zeros instantiated),
/// the operands and the params, return a cotangent for each `Linear` operand (`ValueNone`
/// for known operands or a zero cotangent).
type TransposeRule = Tensor[] -> LinearArg[] -> Params -> Tensor voption[]

/// A batch rule (vmap): given the operands, for each the axis that carries the batch
/// (`ValueNone`: the operand is the same for every example, as a symbolic zero is no
/// tangent) and the params, return the outputs and the batch axis of each (`ValueNone`: the
/// output is the same for every example). Written with ops, so a batched program is still
/// differentiable and printable.
type BatchRule = Tensor[] -> int voption[] -> Params -> Tensor[] * int voption[]

/// All rules of one primitive. Every primitive has a JVP rule; linear ones also transpose;
/// every built-in one batches.
type PrimitiveRules =
    {
        /// The forward-mode rule.
        Jvp: JvpRule
        /// The transpose rule, for primitives linear in some operands.
        Transpose: TransposeRule option
        /// The operands whose true cotangent is the negation of what `Transpose` returns: the
        /// backward pass carries the sign instead of computing a negation pass (neg, sub).
        NegatedOperands: int[]
        /// The batch rule (vmap); None: vmap evaluates the primitive once per example and
        /// stacks the results (correct, slower; only user-defined primitives may lack one).
        Batch: BatchRule option
        /// A JVP rule that computes the primal outputs too, for a higher-order primitive whose
        /// linearization yields both (jit): used instead of binding the primal and then `Jvp`.
        PrimalAndTangent: (Tensor[] -> Tensor voption[] -> Params -> Tensor[] * Tensor voption[]) option
    }

namespace FunDiff.Rules

open FunDiff

/// Helpers that build rules in one line, and the small shape adaptations they share.
module RuleKit =

    /// The aval of an operand as a transpose rule sees it, known or linear.
    let linearArgAval (arg: LinearArg) =
        match arg with
        | Linear aval -> aval
        | Known v -> v.Aval

    /// Rules of a primitive that is not linear.
    let jvpOnly (jvp: JvpRule) =
        {
            Jvp = jvp
            Transpose = None
            NegatedOperands = [||]
            Batch = None
            PrimalAndTangent = None
        }

    /// Adds a batch rule.
    let withBatch (batch: BatchRule) (rules: PrimitiveRules) = { rules with Batch = Some batch }

    /// Adds a transpose rule.
    let withTranspose (transpose: TransposeRule) (rules: PrimitiveRules) =
        { rules with
            Transpose = Some transpose
        }

    /// A transpose rule that returns cotangents up to sign: the operands in `negated` get the
    /// negation of what it returns (carried as a sign by the backward pass, never computed).
    let withTransposeUpToSign (negated: int[]) (transpose: TransposeRule) (rules: PrimitiveRules) =
        { rules with
            Transpose = Some transpose
            NegatedOperands = negated
        }

    /// A unary rule `fun x y t -> tangent` (x the input, y the output, t the input tangent).
    let unary (f: Tensor -> Tensor -> Tensor -> Tensor) : JvpRule =
        fun xs ts _ ys ->
            match ts.[0] with
            | ValueSome t -> [| ValueSome(f xs.[0] ys.[0] t) |]
            | ValueNone -> [| ValueNone |]

    /// The rule of a primitive whose output never carries a tangent (comparisons, stop_gradient).
    let zeroJvp: JvpRule = fun _ _ _ ys -> Array.create ys.Length ValueNone

    /// The JVP of a primitive linear in its single operand: the primitive applied to the tangent.
    let linear (prim: Primitive) : JvpRule =
        fun _ ts pars _ ->
            match ts.[0] with
            | ValueSome t -> [| ValueSome(Interpreter.Bind1(prim, [| t |], pars)) |]
            | ValueNone -> [| ValueNone |]

    /// A tangent with the shape of `out`: binary primitives broadcast rank-0 operands, so the
    /// tangent of a scalar operand may need broadcasting to the output.
    let fit (out: Tensor) (t: Tensor) =
        if Shape.equal t.Aval.Shape out.Aval.Shape then
            t
        else
            Prim.broadcastTo out.Aval.Shape t

    /// The cotangent of a binary primitive's operand: summed to a scalar if the operand was a
    /// rank-0 operand broadcast by the kernel, over the leading axes if it repeated along them.
    let unbroadcast (aval: Aval) (ct: Tensor) =
        if aval.Rank = 0 && ct.Rank <> 0 then
            Prim.sum ct
        elif aval.Rank < ct.Rank then
            Prim.sumAxes (Array.init (ct.Rank - aval.Rank) id) ct
        else
            ct

    /// The sum of two tangents, either of which may be a symbolic zero, fit to the output.
    let addTangents (out: Tensor) (a: Tensor voption) (b: Tensor voption) =
        match a, b with
        | ValueSome a, ValueSome b -> ValueSome(fit out (a + b))
        | ValueSome t, ValueNone
        | ValueNone, ValueSome t -> ValueSome(fit out t)
        | ValueNone, ValueNone -> ValueNone

    /// Instantiates a symbolic zero as concrete zeros of the primal's aval.
    let instantiate (primal: Tensor) (t: Tensor voption) =
        match t with
        | ValueSome t -> t
        | ValueNone -> Prim.zeros primal.Aval

    /// Raised when a transpose rule finds two linear operands of a bilinear primitive.
    let notLinear (name: string) =
        raise (
            TransformException(
                sprintf
                    "%s: both operands are linear; the program is not linear in its input, so it cannot be transposed."
                    name
            )
        )
