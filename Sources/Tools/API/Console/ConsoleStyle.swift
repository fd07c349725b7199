import Hummingbird
import NIOCore

/// The console's one stylesheet, hand-written: system fonts, contrast above 4.5:1, a visible
/// focus ring, text that scales (rem units), tables that scroll on narrow screens.
enum ConsoleStyle {
    static let css = """
    :root { --ink: #1b1f24; --muted: #4a5563; --line: #c9d0d8; --accent: #0b5394; --bg: #ffffff; --band: #eef2f6; --bad: #a4161a; }
    * { box-sizing: border-box; }
    html { font-size: 100%; }
    body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); line-height: 1.5; }
    a { color: var(--accent); }
    a:focus, button:focus, input:focus, select:focus, summary:focus { outline: 3px solid #f4b400; outline-offset: 2px; }
    .skip { position: absolute; left: -999rem; }
    .skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .5rem; z-index: 10; }
    header { background: var(--band); border-bottom: 1px solid var(--line); padding: .75rem 1.5rem; display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; }
    header .product { font-weight: 700; font-size: 1.25rem; text-decoration: none; color: var(--ink); }
    nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: 1rem; margin: 0; padding: 0; }
    header .who { margin-left: auto; display: flex; gap: .75rem; align-items: center; color: var(--muted); }
    main { padding: 1.5rem; max-width: 80rem; }
    h1 { font-size: 1.75rem; margin-top: 0; }
    h2 { font-size: 1.25rem; margin-top: 2rem; }
    table { border-collapse: collapse; width: 100%; display: block; overflow-x: auto; }
    th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
    th { background: var(--band); }
    dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
    dt { font-weight: 600; }
    dd { margin: 0; word-break: break-all; }
    form.inline { display: inline; }
    form.search, form.query { display: flex; flex-wrap: wrap; gap: .75rem; align-items: flex-end; margin-bottom: 1rem; }
    label { display: block; font-weight: 600; }
    input, select, button { font: inherit; padding: .35rem .5rem; border: 1px solid var(--muted); border-radius: 3px; }
    button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
    button.link { background: none; color: var(--accent); border: none; text-decoration: underline; padding: 0; }
    .muted, .code { color: var(--muted); }
    .code { font-family: ui-monospace, monospace; font-size: .875rem; }
    .alert { color: var(--bad); font-weight: 600; }
    .badge { display: inline-block; padding: 0 .4rem; border: 1px solid var(--muted); border-radius: 3px; font-size: .875rem; }
    """

    static func response() -> Response {
        Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: css)))
    }
}
