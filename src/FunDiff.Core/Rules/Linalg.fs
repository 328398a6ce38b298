/// Rules of dot_general: bilinear, so its JVP is the sum of the two partial products and its
/// transpose with respect to either operand is another dot_general followed by a transpose
/// that restores the operand's axis order. (`Contraction`, not `Linalg`: that is the public
/// numpy.linalg-style module.)
module FunDiff.Rules.Contraction

open System
open FunDiff
open FunDiff.Primitives
open FunDiff.Rules.RuleKit

let private dot (pars: Params) (l: Tensor) (r: Tensor) =
    Interpreter.Bind1(dotGeneralP, [| l; r |], pars)

let private freeAxes (rank: int) (used: int[]) = Shape.complementAxes rank used

/// The cotangent of one operand ("mine") given the other ("theirs"). The output's axes are
/// batch ++ lhs free ++ rhs free; `ctTheirFree` locates theirs' free axes in it. Contracting
/// those with theirs' free axes gives my cotangent up to an axis permutation, in one of two
/// operand orders:
/// - `ct · theirs`: batch ++ my free ++ theirs' contracting axes (increasing);
/// - `theirs · ct`: batch ++ theirs' contracting axes (increasing) ++ my free.
/// My contracting axis i pairs with their contracting axis i. Whichever order already lands in
/// my axis order is used, so the transpose (a full copy) is skipped — e.g. the weight
/// cotangent of `x @ W` is `xᵀ · ct`, computed directly as W's shape.
let private cotangent
    (ct: Tensor)
    (theirs: Tensor)
    (myRank: int)
    (myContract: int[])
    (myBatch: int[])
    (theirContract: int[])
    (theirBatch: int[])
    (ctTheirFree: int[])
    =
    let nb = myBatch.Length
    let myFree = freeAxes myRank (Array.append myContract myBatch)
    let theirFree = freeAxes theirs.Rank (Array.append theirContract theirBatch)
    let theirContractSorted = Array.sort theirContract

    let contractPosition i =
        Array.IndexOf(theirContractSorted, theirContract.[i])

    // where each of my axes sits in the product, for a given offset of the free and contracting blocks
    let sourceFor (freeAt: int) (contractAt: int) =
        let source = Array.zeroCreate myRank
        myBatch |> Array.iteri (fun k axis -> source.[axis] <- k)
        myFree |> Array.iteri (fun j axis -> source.[axis] <- freeAt + j)

        myContract
        |> Array.iteri (fun i axis -> source.[axis] <- contractAt + contractPosition i)

        source

    let ctFirst = sourceFor nb (nb + myFree.Length)
    let theirsFirst = sourceFor (nb + myContract.Length) nb

    let isIdentity (perm: int[]) =
        perm |> Array.mapi (fun i p -> i = p) |> Array.forall id

    if isIdentity theirsFirst && not (isIdentity ctFirst) then
        Prim.dotGeneral theirFree ctTheirFree theirBatch (Array.init nb id) theirs ct
    else
        Prim.transpose ctFirst (Prim.dotGeneral ctTheirFree theirFree (Array.init nb id) theirBatch ct theirs)

let private dotGeneralRules =
    jvpOnly (fun xs ts pars ys ->
        let dl = ts.[0] |> ValueOption.map (fun t -> dot pars t xs.[1])
        let dr = ts.[1] |> ValueOption.map (fun t -> dot pars xs.[0] t)
        [| addTangents ys.[0] dl dr |])
    |> withTranspose (fun cts args pars ->
        let lc, rc = pars.Ints "lhs_contracting", pars.Ints "rhs_contracting"
        let lb, rb = pars.Ints "lhs_batch", pars.Ints "rhs_batch"
        let ct = cts.[0]
        let nb = lb.Length

        match args.[0], args.[1] with
        | Linear lAval, Known r ->
            let nlf = lAval.Rank - lc.Length - nb
            let nrf = r.Rank - rc.Length - nb
            let ctRhsFree = Array.init nrf (fun j -> nb + nlf + j)
            [| ValueSome(cotangent ct r lAval.Rank lc lb rc rb ctRhsFree); ValueNone |]
        | Known l, Linear rAval ->
            let nlf = l.Rank - lc.Length - nb
            let ctLhsFree = Array.init nlf (fun j -> nb + j)
            [| ValueNone; ValueSome(cotangent ct l rAval.Rank rc rb lc lb ctLhsFree) |]
        | _ -> notLinear "dot_general")

// a batch on both operands becomes one more batch dimension (in front); on one operand, one
// more free axis of it, whose place among the output's free axes is the batch axis
let private dotGeneralBatch: BatchRule =
    fun xs axes pars ->
        let lc, rc = pars.Ints "lhs_contracting", pars.Ints "rhs_contracting"
        let lb, rb = pars.Ints "lhs_batch", pars.Ints "rhs_batch"
        let nb = lb.Length
        let shifted (a: int) = BatchKit.shiftPast a

        let withDims lc rc lb rb =
            Params
                [|
                    "lhs_contracting", Ints lc
                    "rhs_contracting", Ints rc
                    "lhs_batch", Ints lb
                    "rhs_batch", Ints rb
                |]

        match axes.[0], axes.[1] with
        | ValueSome la, ValueSome ra ->
            let l, r = BatchKit.moveAxis la 0 xs.[0], BatchKit.moveAxis ra 0 xs.[1]

            let pars =
                withDims
                    (shifted 0 lc)
                    (shifted 0 rc)
                    (Array.insertAt 0 0 (shifted 0 lb))
                    (Array.insertAt 0 0 (shifted 0 rb))

            BatchKit.single (dot pars l r) 0
        | ValueSome la, ValueNone ->
            let lc, lb = shifted la lc, shifted la lb
            let lhsFree = freeAxes xs.[0].Rank (Array.append lc lb)
            BatchKit.single (dot (withDims lc rc lb rb) xs.[0] xs.[1]) (nb + Array.IndexOf(lhsFree, la))
        | ValueNone, ValueSome ra ->
            let rc, rb = shifted ra rc, shifted ra rb
            let lhsFreeCount = xs.[0].Rank - lc.Length - nb
            let rhsFree = freeAxes xs.[1].Rank (Array.append rc rb)

            BatchKit.single (dot (withDims lc rc lb rb) xs.[0] xs.[1]) (nb + lhsFreeCount + Array.IndexOf(rhsFree, ra))
        | ValueNone, ValueNone -> [| dot pars xs.[0] xs.[1] |], [| ValueNone |]

/// The family's entries for the rules table.
let rules = [ dotGeneralP, dotGeneralRules |> withBatch dotGeneralBatch ]
