import Foundation

/// Building blocks for the XHTML and SVG the report writes: escaping, elements, number formatting.
///
/// The page is written as well-formed XML (every element closed, only the five XML entities) so that
/// an XML parser can check it and browsers read it either as HTML or as XHTML.
public enum Markup {
    /// `text` safe as element content or as a double- or single-quoted attribute value.
    public static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// `<name a="v" …>content</name>`, or `<name a="v" …/>` when `content` is nil. Attributes are written in
    /// name order (the same page for the same runs) and escaped; `content` is inserted as is (it is markup
    /// already; escape text with `escape`).
    static func element(_ name: String, _ attributes: [String: String] = [:], _ content: String? = nil) -> String {
        let attributeText = attributes.sorted { $0.key < $1.key }.map { " \($0.key)=\"\(escape($0.value))\"" }.joined()
        guard let content else { return "<\(name)\(attributeText)/>" }
        return "<\(name)\(attributeText)>\(content)</\(name)>"
    }

    /// A coordinate for an SVG attribute: two decimals are finer than a pixel and keep the page small.
    static func coordinate(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(format: "%.2f", rounded)
    }
}
