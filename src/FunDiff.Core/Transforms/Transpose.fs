/// Transposition of a linear program (the backward pass of reverse mode).
/// - Computes: for output cotangents, the cotangents of the program's inputs (Jᵀ·ct).
/// - Walks the equations backwards once, applying each primitive's transpose rule, summing
///   cotangents where a variable fans out and dropping each cotangent once consumed.
/// - Equations that do not depend on an input (non-linear ones) are evaluated forward first;
///   constants (residuals) are known values. The rules' ops bind on the current trace, so the
///   backward pass is itself differentiable.
/// - Negations are not computed but carried as a sign on each cotangent: a rule's
///   `NegatedOperands` flip it (neg; sub's subtrahend), every other rule passes it through
///   (transposes are linear), and a sum
///   of cotangents with opposite signs is one subtraction. A user's `a - b` thus costs no extra
///   pass over the array in reverse mode; a sign still set at the end is one negation.
module FunDiff.Transforms.Transpose

open FunDiff
open FunDiff.Rules

let private isNull (t: Tensor) = obj.ReferenceEquals(t, null)

/// Cotangents of the program's inputs given cotangents of its outputs.
let internal backwardPass (p: Program) (outputCotangents: Tensor[]) : Tensor[] =
    let n = p.NumVars
    let isLinear = Array.zeroCreate n
    let known: Tensor[] = Array.zeroCreate n
    let ct: Tensor[] = Array.zeroCreate n
    // true: the true cotangent of the variable is the negation of ct.[v]
    let negated: bool[] = Array.zeroCreate n

    for v in p.InVarArray do
        isLinear.[v.Id] <- true

    for i in 0 .. p.ConstVarArray.Length - 1 do
        known.[p.ConstVarArray.[i].Id] <- p.ConstArray.[i]

    let value (a: Atom) =
        match a with
        | Atom.Var v -> known.[v.Id]
        | Atom.Literal t -> t

    let equations = p.EquationArray
    // which equations depend on an input (no list of them: it grew by copying, per program)
    let linearEquation: bool[] = Array.zeroCreate equations.Length

    // (loops, not Array.exists/iteri: a closure over the environment per equation showed up in
    // the allocation profile of a scalar loop)
    for index in 0 .. equations.Length - 1 do
        let e = equations.[index]
        let mutable linear = false

        for a in e.InputArray do
            match a with
            | Atom.Var v when isLinear.[v.Id] -> linear <- true
            | _ -> ()

        if linear then
            for v in e.OutputArray do
                isLinear.[v.Id] <- true

            linearEquation.[index] <- true
        else
            let outs = Interpreter.Bind(e.Primitive, Array.map value e.InputArray, e.Params)
            let outVars = e.OutputArray

            for j in 0 .. outVars.Length - 1 do
                known.[outVars.[j].Id] <- outs.[j]

    let accumulate (v: Var) (c: Tensor) (negative: bool) =
        if not (Shape.equal c.Aval.Shape v.Aval.Shape) then
            raise (
                TransformException(
                    sprintf
                        "transpose: a cotangent of shape %s arrived for a variable of aval %O (a bug in a transpose rule)."
                        (Shape.show c.Aval.Shape)
                        v.Aval
                )
            )

        let existing = ct.[v.Id]

        if isNull existing then
            ct.[v.Id] <- c
            negated.[v.Id] <- negative
        elif negated.[v.Id] = negative then
            ct.[v.Id] <- existing + c
        elif negative then
            ct.[v.Id] <- existing - c
        else
            ct.[v.Id] <- c - existing
            negated.[v.Id] <- false

    p.OutputArray
    |> Array.iteri (fun i a ->
        match a with
        | Atom.Var v when isLinear.[v.Id] -> accumulate v outputCotangents.[i] false
        | _ -> ())

    for index in equations.Length - 1 .. -1 .. 0 do
        if linearEquation.[index] then
            let e = equations.[index]
            let outs = e.OutputArray
            let mutable anyCotangent = false

            for v in outs do
                if not (isNull ct.[v.Id]) then
                    anyCotangent <- true

            if anyCotangent then
                let cts = Array.zeroCreate outs.Length
                // one sign for all outputs (a single output: always), else the negative ones pay
                let mutable sign = false
                let mutable mixed = false
                let mutable first = true

                for v in outs do
                    if not (isNull ct.[v.Id]) then
                        if first then
                            sign <- negated.[v.Id]
                            first <- false
                        elif negated.[v.Id] <> sign then
                            mixed <- true

                // user-defined rules get true cotangents (their linearity is not ours to assume)
                let materialize = mixed || (sign && (e.Primitive.OwnRules :? PrimitiveRules))

                for j in 0 .. outs.Length - 1 do
                    let v = outs.[j]

                    cts.[j] <-
                        if isNull ct.[v.Id] then Prim.zeros v.Aval
                        elif materialize && negated.[v.Id] then -ct.[v.Id]
                        else ct.[v.Id]
                    // each cotangent is consumed exactly once: drop it now to bound memory
                    ct.[v.Id] <- Unchecked.defaultof<_>

                if materialize then
                    sign <- false

                let inputs = e.InputArray
                let args = Array.zeroCreate inputs.Length

                for j in 0 .. inputs.Length - 1 do
                    args.[j] <-
                        match inputs.[j] with
                        | Atom.Var v when isLinear.[v.Id] -> Linear v.Aval
                        | a -> Known(value a)

                let rules = Table.lookup e.Primitive
                // the sign of each input's contribution: the cotangents', flipped where the rule
                // returns a negated operand's cotangent up to sign
                let negatedOperands = rules.NegatedOperands

                let transpose =
                    match rules.Transpose with
                    | Some t -> t
                    | None ->
                        raise (
                            TransformException(
                                sprintf
                                    "%s: this primitive is not linear and has no transpose rule, but it depends on the linear input of the program."
                                    e.Primitive.Name
                            )
                        )

                let inputCts =
                    if Interpreter.DebuggingNans then
                        try
                            transpose cts args e.Params
                        with :? NanException as nan ->
                            raise (ProgramText.withContext (p, index, "transposing (reverse mode)", nan))
                    else
                        transpose cts args e.Params

                for j in 0 .. inputs.Length - 1 do
                    match inputs.[j], inputCts.[j] with
                    | Atom.Var v, ValueSome c when isLinear.[v.Id] ->
                        accumulate v c (sign <> (negatedOperands.Length > 0 && Array.contains j negatedOperands))
                    | _ -> ()

    p.InVarArray
    |> Array.map (fun v ->
        if isNull ct.[v.Id] then Prim.zeros v.Aval
        elif negated.[v.Id] then -ct.[v.Id]
        else ct.[v.Id])
