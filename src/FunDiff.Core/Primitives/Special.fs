// Room: special functions that need their own derivative convention: xlogy (rules in Rules/Special.fs).
namespace FunDiff.Primitives

open FunDiff.Backend
open FunDiff.ShapeRules
open FunDiff.Primitives.Kit

/// Special elementwise functions declared as primitives because a composite could not give
/// both the value and the derivative convention: `xlogy` is 0 where x = 0 (a select would
/// then also zero its derivative in x, which is log y there).
[<AutoOpen>]
module Special =

    /// The `xlogy` primitive: x · log y, 0 where x = 0 (scipy's xlogy; NaN where y is NaN).
    let xlogyP = binaryMapP "xlogy" Elementwise.xlogy (floatBinary "xlogy")
