module FunDiff.Tests.PrimitiveLaws
