module FunDiff.Tests.ErrorTests
