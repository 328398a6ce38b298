/// Rules of dot_general: bilinear, so its JVP is the sum of the two partial products and its
/// transpose with respect to either operand is another dot_general followed by a transpose
/// that restores the operand's axis order.
module FunDiff.Rules.Linalg

open System
open FunDiff
open FunDiff.Primitives
open FunDiff.Rules.RuleKit

let private dot (pars: Params) (l: Tensor) (r: Tensor) =
    Interpreter.Bind1(dotGeneralP, [| l; r |], pars)

let private freeAxes (rank: int) (used: int[]) =
    [|
        for k in 0 .. rank - 1 do
            if not (Array.contains k used) then
                k
    |]

/// The cotangent of one operand ("mine") given the other ("theirs"). The output's axes are
/// batch ++ lhs free ++ rhs free; `ctMine`/`ctTheirs` locate the free axes of each side in it.
/// Contracting ct's "theirs" free axes with theirs' free axes leaves
/// batch ++ my free ++ theirs' contracting axes (in increasing order), which a transpose puts
/// back in my axis order (my contracting axis i pairs with their contracting axis i).
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

    let product =
        Prim.dotGeneral ctTheirFree theirFree (Array.init nb id) theirBatch ct theirs

    let theirContractSorted = Array.sort theirContract
    let source = Array.zeroCreate myRank
    myBatch |> Array.iteri (fun k axis -> source.[axis] <- k)
    myFree |> Array.iteri (fun j axis -> source.[axis] <- nb + j)

    myContract
    |> Array.iteri (fun i axis ->
        source.[axis] <- nb + myFree.Length + Array.IndexOf(theirContractSorted, theirContract.[i]))

    Prim.transpose source product

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

/// The family's entries for the rules table.
let rules = [ dotGeneralP, dotGeneralRules ]
