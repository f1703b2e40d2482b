import Foundation

@usableFromInline func Foundation_log(_ x: Double) -> Double { Foundation.log(x) }
@usableFromInline func Foundation_cos(_ x: Double) -> Double { Foundation.cos(x) }
