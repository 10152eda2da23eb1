/** The dashboard's entry point: everything it shows comes from the public admin API. */

import { render } from "preact";
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { App } from "./components/App.tsx";
import { applyTheme, savedTheme } from "./theme.ts";

applyTheme(savedTheme());
render(<App />, document.getElementById("app")!);
