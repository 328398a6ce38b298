module FunDiff.Tests.ExactValues
