// Room: user-defined primitives (Primitive.define) carrying their own rules.
namespace FunDiff

open FunDiff.Backend

/// User-defined primitives: one value carrying the implementation, the shape rule and the
/// derivative rules, usable by every transform like a built-in one.
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Primitive =

    // every define* builds its primitive here; `op` names the entry point in argument errors
    let private defineWith
        (op: string)
        (name: string)
        (impl: Tensor[] -> Tensor)
        (shapeRule: Aval[] -> Aval)
        (jvp: Tensor[] -> Tensor[] -> Tensor -> Tensor)
        (transpose: (Tensor -> LinearArg[] -> Tensor voption[]) option)
        (batch: (Tensor[] -> int option[] -> Tensor * int) option)
        : Primitive =
        Guard.notNull op "name" name
        Guard.notNull op "impl" impl
        Guard.notNull op "shapeRule" shapeRule
        Guard.notNull op "jvp" jvp

        let rules =
            {
                Jvp =
                    fun primals tangents _ outs ->
                        let ts =
                            Array.map2 (fun (p: Tensor) t -> Rules.RuleKit.instantiate p t) primals tangents

                        [| ValueSome(jvp primals ts outs.[0]) |]
                Transpose = transpose |> Option.map (fun t -> fun cts args _ -> t cts.[0] args)
                NegatedOperands = [||]
                Batch =
                    batch
                    |> Option.map (fun rule ->
                        fun xs axes _ ->
                            let y, axis = rule xs (axes |> Array.map ValueOption.toOption)
                            [| y |], [| ValueSome axis |])
                PrimalAndTangent = None
            }

        let evaluate (arrays: NDArray[]) (_: Params) =
            // the user's impl computes with ops: run them as plain evaluation
            let saved = Interpreter.Enter null

            try
                let out: Tensor = impl (arrays |> Array.map Prim.ofArray)
                let expected = shapeRule (arrays |> Array.map (fun a -> a.Aval))

                if not (out.Aval.Equals expected) then
                    raise (
                        ShapeException(
                            sprintf
                                "%s: the implementation returned %O but the shape rule says %O."
                                name
                                out.Aval
                                expected
                        )
                    )

                [| out.Concrete name |]
            finally
                Interpreter.Restore saved

        Primitive(name, evaluate, (fun avals _ -> [| shapeRule avals |]), box rules)

    /// Defines a primitive of any number of tensor operands and one output.
    /// - `impl` computes on concrete tensors (it runs under plain evaluation, so ops inside it
    ///   compute directly);
    /// - `shapeRule` gives the output aval from the operands' avals (raise ShapeException for
    ///   bad input);
    /// - `jvp primals tangents output` returns the output tangent; a tangent that is zero is
    ///   passed as zeros. Write it with ops: it is then differentiable again;
    /// - `transpose` (only for a primitive linear in some operands): `transpose ct args` returns
    ///   the cotangent of each `Linear` operand (`ValueNone` for `Known` ones).
    /// Example: `let softClip = Primitive.define "soft_clip" (fun xs -> tanh xs.[0]) (fun a -> a.[0]) (fun xs ts y -> ts.[0] * (1.0 - y * y)) None`.
    let define
        (name: string)
        (impl: Tensor[] -> Tensor)
        (shapeRule: Aval[] -> Aval)
        (jvp: Tensor[] -> Tensor[] -> Tensor -> Tensor)
        (transpose: (Tensor -> LinearArg[] -> Tensor voption[]) option)
        : Primitive =
        defineWith "Primitive.define" name impl shapeRule jvp transpose None

    /// `define` with a batch rule for vmap: `batch operands axes` gets each operand whole
    /// (batched along `axes.[i]`, or the same for every example where `axes.[i]` is None)
    /// and returns the batched output and the axis that carries its batch. Without one, vmap
    /// applies the primitive once per example and stacks the results (correct, slower).
    /// Example, an elementwise primitive: `fun xs axes -> Primitive.apply p [ xs.[0] ], axes.[0].Value`.
    let defineBatched
        (name: string)
        (impl: Tensor[] -> Tensor)
        (shapeRule: Aval[] -> Aval)
        (jvp: Tensor[] -> Tensor[] -> Tensor -> Tensor)
        (transpose: (Tensor -> LinearArg[] -> Tensor voption[]) option)
        (batch: Tensor[] -> int option[] -> Tensor * int)
        : Primitive =
        Guard.notNull "Primitive.defineBatched" "batch" batch
        defineWith "Primitive.defineBatched" name impl shapeRule jvp transpose (Some batch)

    /// Applies a primitive to operands: `Primitive.apply softClip [ x ]`.
    let apply (prim: Primitive) (operands: Tensor list) : Tensor =
        Guard.notNull "Primitive.apply" "prim" prim
        Guard.notNullElements "Primitive.apply" "operands" operands
        Interpreter.Bind1(prim, Array.ofList operands, Params.Empty)
