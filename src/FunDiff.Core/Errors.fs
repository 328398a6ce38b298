// Room: the library's exception types, one per kind of misuse, each message naming the operation, the shapes and the fix.
namespace FunDiff

open System

/// The base of every error FunDiff raises. Each message names the operation, the shapes or
/// values involved, and what to do about it.
type FunDiffException(message: string, inner: exn) =
    inherit Exception(message, inner)
    // the transforms the error passed through on its way out, innermost first
    let mutable transforms: string list = []

    /// Creates the exception with a message and no inner exception.
    new(message: string) = FunDiffException(message, null)

    /// The transforms (`grad`, `jvp`, `makeIR`, ...) inside which the error arose, innermost first.
    member _.Transforms: string[] = Array.ofList transforms

    /// Records that the error left the function given to `transform` (once per transform: grad's
    /// staging and JVP traces both carry the name `grad`).
    member internal _.LeftTransform(transform: string) =
        if transforms.IsEmpty || List.last transforms <> transform then
            transforms <- transforms @ [ transform ]

    /// The message, followed by the transforms it arose inside: `(inside jvp inside grad)`.
    override _.Message =
        if transforms.IsEmpty then
            message
        else
            message + " (inside " + String.concat " inside " transforms + ")"

/// Shapes (or dtypes, or axes) that an operation cannot accept: mismatched or non-broadcastable
/// shapes, a bad axis, an index out of range.
type ShapeException(message: string) =
    inherit FunDiffException(message)

/// A tracer was used after the transform that created it returned (for instance, stored in a
/// mutable cell inside `grad` and used later), or on a thread whose interpreter stack does not
/// hold its trace.
type EscapedTracerException(message: string) =
    inherit FunDiffException(message)

/// A concrete number was asked of a value that is only known abstractly (a tracer of `makeIR`
/// or of the tangent part of `linearize`): Python-style `if` on such a value cannot be staged.
type ConcretizationException(message: string) =
    inherit FunDiffException(message)

/// `grad` (or another transform that needs a scalar) received a function whose output is not
/// a scalar.
type NonScalarOutputException(message: string) =
    inherit FunDiffException(message)

/// Raised inside `Diff.withDebugNans` by the first primitive that produces a NaN; the message
/// names the primitive, its operands and, inside a program, the equations around it.
type NanException(message: string) =
    inherit FunDiffException(message)

/// A transform was used in a way it does not support (for instance `grad` of a function of an
/// integer tensor, or a transpose rule missing for a non-linear primitive).
type TransformException(message: string) =
    inherit FunDiffException(message)

/// An int64 value left the range FunDiff holds exactly (|v| ≤ 2⁵³ − 1, since int64 values are
/// stored as float64 whole numbers), or a non-finite float was converted to int64. Raised by
/// the primitive that produced it, instead of a silently rounded or NaN-holding integer.
type Int64RangeException(message: string) =
    inherit FunDiffException(message)

/// The argument checks every public entry point shares, so that a bad argument is reported
/// the same way everywhere, before any work.
module internal Guard =

    /// Raises ArgumentNullException for the parameter `name` of `op`.
    let nullArgument (op: string) (name: string) : 'a =
        raise (
            ArgumentNullException(
                name,
                sprintf
                    "%s: %s is null. FunDiff has no null tensor or function: pass a value (Tensor.zeros or Tensor.scalar 0.0 for a zero)."
                    op
                    name
            )
        )

    /// Raises ArgumentNullException naming `name` (a parameter of `op`) if `value` is null.
    let inline notNull (op: string) (name: string) (value: 'a) =
        if obj.ReferenceEquals(value, null) then
            nullArgument op name

    /// Raises ArgumentNullException naming `name` if the collection or one of its elements is
    /// null (the message gives the element's index).
    let notNullElements (op: string) (name: string) (values: seq<'a>) =
        if obj.ReferenceEquals(values, null) then
            nullArgument op name

        let mutable i = 0

        for v in values do
            if obj.ReferenceEquals(v, null) then
                raise (
                    ArgumentNullException(
                        name,
                        sprintf "%s: element %d of %s is null; every element must be a tensor." op i name
                    )
                )

            i <- i + 1

    /// Raises ArgumentOutOfRangeException naming `name` (a parameter of `op`) unless `value` ≥ 1.
    let positive (op: string) (name: string) (value: int) =
        if value < 1 then
            raise (ArgumentOutOfRangeException(name, value, sprintf "%s: %s = %d must be at least 1." op name value))

/// A linear-algebra operation met a matrix it cannot factor: a singular matrix in `solve`,
/// `inv` or `triangularSolve`, one that is not positive definite in `cholesky` (NumPy's
/// `LinAlgError`). The message names the op, the shape and the matrix of a batch.
type LinAlgException(message: string) =
    inherit FunDiffException(message)
