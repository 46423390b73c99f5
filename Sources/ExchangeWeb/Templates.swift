/// The review page's Mustache templates and style sheet, compiled into the binary. Every page extends
/// `layout`; `{{x}}` escapes HTML, and nothing is rendered unescaped.
enum Templates {
    static let all: [String: String] = [
        "layout": layout, "login": login, "submissions": submissions, "receipt": receipt, "deliveries": deliveries,
        "quiet": quiet, "waivers": waivers, "waiver": waiver, "status": status, "message": message, "errorRows": errorRows, "charts": charts,
        "receiptTable": receiptTable, "outputsTable": outputsTable, "organisationHome": organisationHome,
        "organisationReceipt": organisationReceipt, "organisationOutbound": organisationOutbound, "organisationCheck": organisationCheck,
        "organisationAttendance": organisationAttendance, "organisationRoster": organisationRoster,
    ]

    static let layout = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · KTS Exchange review</title>
        <link rel="stylesheet" href="/style.css">
        </head>
        <body>
        <header>
          <strong>KTS Exchange</strong>
          {{#user}}
          {{#organisation}}
          <nav>
            <a href="{{base}}"{{#navHome}} aria-current="page"{{/navHome}}>Home</a>
            <a href="{{base}}/submissions"{{#navSubmissions}} aria-current="page"{{/navSubmissions}}>Files sent</a>
            <a href="{{base}}/outbound"{{#navOutbound}} aria-current="page"{{/navOutbound}}>Outbound</a>
            {{#isCenter}}<a href="{{base}}/roster"{{#navRoster}} aria-current="page"{{/navRoster}}>Roster</a>{{/isCenter}}
            {{^isCenter}}<a href="{{base}}/attendance"{{#navAttendance}} aria-current="page"{{/navAttendance}}>Attendance</a>{{/isCenter}}
            <a href="{{base}}/check"{{#navCheck}} aria-current="page"{{/navCheck}}>Check a file</a>
            {{#bySupport}}<a href="/status">Back to support's pages</a>{{/bySupport}}
          </nav>
          {{/organisation}}
          {{^organisation}}{{^clerk}}
          <nav>
            <a href="/submissions"{{#navSubmissions}} aria-current="page"{{/navSubmissions}}>Submissions</a>
            <a href="/deliveries"{{#navDeliveries}} aria-current="page"{{/navDeliveries}}>Pickups</a>
            <a href="/quiet"{{#navQuiet}} aria-current="page"{{/navQuiet}}>Quiet centers</a>
            <a href="/waivers"{{#navWaivers}} aria-current="page"{{/navWaivers}}>Waivers</a>
            <a href="/status"{{#navStatus}} aria-current="page"{{/navStatus}}>Status</a>
          </nav>
          {{/clerk}}{{/organisation}}
          <form method="post" action="/logout" class="logout">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <span>{{user}}</span> <button type="submit">Log out</button>
          </form>
          {{/user}}
        </header>
        <main>
        {{#organisation}}<p class="organisation">{{#bySupport}}<strong>Support's view</strong> of the pages of {{/bySupport}}{{orgId}} {{name}}</p>{{/organisation}}
        <h1>{{title}}</h1>
        {{$content}}{{/content}}
        </main>
        </body>
        </html>
        """

    static let login = """
        {{<layout}}{{$content}}
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        <form method="post" action="/login" class="login">
          <input type="hidden" name="token" value="{{token}}">
          <input type="hidden" name="next" value="{{next}}">
          <label>User name <input name="username" autocomplete="username" required autofocus></label>
          <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
          <button type="submit">Log in</button>
        </form>
        <p class="note">The review page shows student records. Log in with the account support gave you.</p>
        {{/content}}{{/layout}}
        """

    /// The files sent, for support (every sender, `forSupport`) or for one participant's clerks.
    static let submissions = """
        {{<layout}}{{$content}}
        <form method="get" action="{{action}}" class="filters">
          {{#forSupport}}
          <label>Participant <select name="participant">
            <option value="">any</option>
            {{#participants}}<option value="{{orgId}}"{{#selected}} selected{{/selected}}>{{orgId}} {{name}}</option>{{/participants}}
          </select></label>
          {{/forSupport}}
          <label>Type <select name="type">
            <option value="">any</option>
            {{#types}}<option value="{{code}}"{{#selected}} selected{{/selected}}>{{code}} {{name}}</option>{{/types}}
          </select></label>
          <label>Outcome <select name="outcome">
            <option value="">any</option>
            {{#outcomes}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/outcomes}}
          </select></label>
          <label>From <input type="date" name="from" value="{{from}}"></label>
          <label>To <input type="date" name="to" value="{{to}}"></label>
          <button type="submit">Search</button>
        </form>
        {{#problem}}<p class="error" role="alert">{{problem}}</p>{{/problem}}
        <p class="count">{{count}} file(s){{#limited}}, the newest {{limit}} shown{{/limited}}.</p>
        {{>receiptTable}}
        {{/content}}{{/layout}}
        """

    /// A receipt's outputs: to whom, which file, when written and taken.
    static let outputsTable = """
        <table>
          <thead><tr><th>To</th><th>File</th><th>Written</th><th>Picked up</th></tr></thead>
          <tbody>
          {{#deliveries}}<tr><td>{{recipient}} {{recipientName}}</td><td>{{file}}</td><td>{{deliveredLocal}}</td><td>{{pickedUpLocal}}{{^pickedUpLocal}}waiting{{/pickedUpLocal}}</td></tr>{{/deliveries}}
          </tbody>
        </table>
        """

    /// Receipts as rows, each linking to its page (`href`); the sender's column for support.
    static let receiptTable = """
        <table>
          <thead><tr><th>Received</th>{{#forSupport}}<th>Sender</th>{{/forSupport}}<th>Type</th><th>Outcome</th><th>Records accepted</th><th>Errors</th><th>File</th></tr></thead>
          <tbody>
          {{#receipts}}
          <tr class="outcome-{{outcome}}">
            <td>{{receivedLocal}}</td>{{#forSupport}}<td>{{sender}} {{senderName}}</td>{{/forSupport}}<td>{{type}}</td>
            <td><span class="badge">{{outcome}}{{^outcome}}{{state}}{{/outcome}}</span></td>
            <td>{{recordsAccepted}} / {{recordsReceived}}</td><td>{{errorCount}}</td>
            <td><a href="{{href}}">{{file}}</a></td>
          </tr>
          {{/receipts}}
          </tbody>
        </table>
        """

    static let receipt = """
        {{<layout}}{{$content}}
        {{#receipt}}
        <dl class="facts">
          <dt>File</dt><dd>{{file}} ({{sizeBytes}} bytes)</dd>
          <dt>Sender</dt><dd>{{sender}} {{senderName}}</dd>
          <dt>Type</dt><dd>{{type}} {{typeName}} {{binding}}</dd>
          <dt>Received</dt><dd>{{receivedLocal}}</dd>
          <dt>Acknowledged</dt><dd>{{acknowledgedLocal}}{{^acknowledgedLocal}}not yet ({{state}}){{/acknowledgedLocal}}</dd>
          <dt>Outcome</dt><dd><span class="badge outcome-{{outcome}}" id="outcome">{{outcome}}</span>
            {{recordsReceived}} records received, {{recordsAccepted}} accepted, {{recordsRejected}} rejected, {{errorCount}} errors</dd>
          {{#duplicateOf}}<dt>Duplicate of</dt><dd><a href="/receipts/{{duplicateOf}}">{{duplicateOf}}</a></dd>{{/duplicateOf}}
          {{#reprocessOf}}<dt>Judged again from</dt><dd><a href="/receipts/{{reprocessOf}}">{{reprocessOf}}</a></dd>{{/reprocessOf}}
          {{#reprocessReason}}<dt>Why</dt><dd id="reprocess-reason">{{reprocessReason}}</dd>{{/reprocessReason}}
          {{#reprocessedAs}}<dt>Judged again as</dt><dd><a href="/receipts/{{.}}">{{.}}</a></dd>{{/reprocessedAs}}
          <dt>Receipt</dt><dd>{{id}}</dd>
          <dt>SHA-256</dt><dd class="mono">{{sha256}}</dd>
        </dl>
        {{#retired}}<p class="note" id="retired">School year {{schoolYear}} was retired from the ledger{{#finishedLocal}} on {{finishedLocal}}{{/finishedLocal}}: this file's errors, outputs and record trail are in the archive {{archive}}, not shown here.</p>{{/retired}}
        <h2>Outputs</h2>
        {{>outputsTable}}
        {{/receipt}}
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        {{#mayReprocess}}
        <form method="post" action="{{reprocessAction}}" class="decision">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <label>Why judge it again (recorded; the sender's acknowledgement names the earlier receipt) <textarea name="reason" required maxlength="2000" rows="2"></textarea></label>
          <button type="submit">Judge again</button>
        </form>
        {{/mayReprocess}}
        {{>errorRows}}
        {{/content}}{{/layout}}
        """

    /// The errors of a file beside the rows they concern, and what their codes mean (`ReviewSite.errorTable`).
    static let errorRows = """
        {{#hasErrors}}
        <h2>Errors beside the rows they concern</h2>
        {{#moreErrors}}<p class="note">The error file lists the first {{shown}} of {{total}} errors.</p>{{/moreErrors}}
        {{#hasFileIssues}}
        <ul class="file-issues">
          {{#fileIssues}}<li><span class="code">{{code}}</span> {{message}}</li>{{/fileIssues}}
        </ul>
        {{/hasFileIssues}}
        {{#originalMissing}}<p class="note">The original file is no longer kept, so its rows cannot be shown.</p>{{/originalMissing}}
        <table class="rows" id="rows">
          <thead><tr><th>Line</th><th>Row of the original file</th><th>What is wrong</th></tr></thead>
          <tbody>
          {{#rows}}
          {{#gap}}<tr class="gap"><td colspan="3">…</td></tr>{{/gap}}
          <tr class="{{#offending}}offending{{/offending}}{{^offending}}context{{/offending}}" id="line-{{number}}">
            <td class="number">{{number}}</td>
            <td class="text">{{#hasCells}}<code>{{#cells}}<span class="cell{{#faulty}} faulty{{/faulty}}" title="{{name}}">{{value}}</span>{{^last}},{{/last}}{{/cells}}</code>{{/hasCells}}{{^hasCells}}<code>{{text}}</code>{{^text}}{{#missing}}<em>not shown</em>{{/missing}}{{/text}}{{/hasCells}}</td>
            <td>{{#issues}}<p><span class="code">{{code}}</span>{{#field}} <span class="field">{{field}}</span>{{/field}} {{message}}</p>{{/issues}}</td>
          </tr>
          {{/rows}}
          </tbody>
        </table>
        {{#hasCodeHelp}}
        <h2>What the codes mean</h2>
        <dl class="codes" id="code-help">
          {{#codeHelp}}<dt><span class="code">{{code}}</span></dt><dd>{{meaning}}.{{#whatToDo}} <strong>What to do:</strong> {{whatToDo}}.{{/whatToDo}}</dd>{{/codeHelp}}
        </dl>
        {{/hasCodeHelp}}
        {{/hasErrors}}
        """

    /// The charts of `Charts.activity`: SVG drawn from computed geometry, each with its summary in words.
    static let charts = """
        <section class="charts">
        {{#charts}}
        <figure class="chart">
          <figcaption>{{title}}</figcaption>
          <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {{width}} {{height}}" width="{{width}}" height="{{height}}" role="img" aria-label="{{summary}}">
            {{#lines}}<line x1="{{x1}}" y1="{{y1}}" x2="{{x2}}" y2="{{y2}}" stroke="{{stroke}}" stroke-width="1"/>{{/lines}}
            {{#rects}}<rect x="{{x}}" y="{{y}}" width="{{w}}" height="{{h}}" fill="{{fill}}"><title>{{tip}}</title></rect>{{/rects}}
            {{#texts}}<text x="{{x}}" y="{{y}}" text-anchor="{{anchor}}" font-size="{{size}}" fill="{{fill}}">{{text}}</text>{{/texts}}
          </svg>
          {{#hasLegend}}<p class="legend">{{#legend}}<span><svg width="10" height="10" aria-hidden="true"><rect width="10" height="10" fill="{{fill}}"/></svg> {{label}}</span> {{/legend}}</p>{{/hasLegend}}
          {{#empty}}<p class="note">{{empty}}</p>{{/empty}}
        </figure>
        {{/charts}}
        </section>
        """

    static let deliveries = """
        {{<layout}}{{$content}}
        <p>Outbound files not picked up within {{threshold}} hours. {{waiting}} file(s) wait in all.</p>
        <table>
          <thead><tr><th>Recipient</th><th>Waiting</th><th>Written</th><th>File</th><th>From</th></tr></thead>
          <tbody>
          {{#overdue}}<tr><td>{{recipient}} {{recipientName}}</td><td>{{hoursWaiting}} h</td><td>{{deliveredLocal}}</td><td>{{file}}</td><td>{{source}}</td></tr>{{/overdue}}
          </tbody>
        </table>
        {{^overdue}}<p class="ok">Every participant picked up its files in time.</p>{{/overdue}}
        {{/content}}{{/layout}}
        """

    static let quiet = """
        {{<layout}}{{$content}}
        <p>Technical centers with no accepted attendance for {{quietDays}} or more of their instructional days. Centers with an approved waiver for this school year are left out.</p>
        <table>
          <thead><tr><th>Center</th><th>Instructional days missed</th><th>Last attendance</th></tr></thead>
          <tbody>
          {{#centers}}<tr><td>{{orgId}} {{name}}</td><td>{{missedDays}}</td><td>{{lastAttendance}}{{^lastAttendance}}none this school year{{/lastAttendance}}</td></tr>{{/centers}}
          </tbody>
        </table>
        {{^centers}}<p class="ok">No center is quiet.</p>{{/centers}}
        {{/content}}{{/layout}}
        """

    static let waivers = """
        {{<layout}}{{$content}}
        <table>
          <thead><tr><th>Received</th><th>Center</th><th>School year</th><th>Reason</th><th>Status</th></tr></thead>
          <tbody>
          {{#waivers}}<tr><td>{{receivedLocal}}</td><td>{{centerOrgId}} {{centerName}}</td><td>{{schoolYear}}</td><td>{{reasonCode}}</td>
            <td><a href="/waivers/{{id}}"><span class="badge status-{{status}}">{{status}}</span></a></td></tr>{{/waivers}}
          </tbody>
        </table>
        {{^waivers}}<p>No waiver requests.</p>{{/waivers}}
        {{/content}}{{/layout}}
        """

    static let waiver = """
        {{<layout}}{{$content}}
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        {{#waiver}}
        <dl class="facts">
          <dt>Center</dt><dd>{{centerOrgId}} {{centerName}}</dd>
          <dt>School year</dt><dd>{{schoolYear}}</dd>
          <dt>Reason</dt><dd>{{reasonCode}}</dd>
          <dt>Received</dt><dd>{{receivedLocal}} (<a href="/receipts/{{receiptId}}">receipt</a>)</dd>
          <dt>Status</dt><dd><span class="badge status-{{status}}" id="status">{{status}}</span></dd>
          {{#decidedLocal}}<dt>Decided</dt><dd>{{decidedLocal}}</dd>{{/decidedLocal}}
          {{#decisionReason}}<dt>Decision reason</dt><dd id="decision-reason">{{decisionReason}}</dd>{{/decisionReason}}
          {{#decisionFile}}<dt>Decision file</dt><dd>{{decisionFile}}</dd>{{/decisionFile}}
        </dl>
        {{#isPending}}
        <form method="post" action="/waivers/{{id}}/decision" class="decision">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <label>Reason (the center reads it) <textarea name="reason" required maxlength="2000" rows="3"></textarea></label>
          <button type="submit" name="decision" value="approve">Approve</button>
          <button type="submit" name="decision" value="deny">Deny</button>
        </form>
        {{/isPending}}
        {{/waiver}}
        {{/content}}{{/layout}}
        """

    static let status = """
        {{<layout}}{{$content}}
        {{#status}}
        {{#service}}<p>Service: {{#running}}<span class="ok">running</span>, last pass {{secondsSinceLastPass}} s ago{{/running}}{{^running}}<span class="error">not running</span>{{#lastPassLocal}} since {{lastPassLocal}}{{/lastPassLocal}}{{/running}}.</p>{{/service}}
        {{#backlog}}<p>Backlog: {{waitingInInbound}} file(s) waiting in inbound, {{receiptsInProgress}} receipt(s) and {{jobRunsInProgress}} job run(s) in progress.</p>{{/backlog}}
        {{#deliveries}}<p>Deliveries: {{waiting}} waiting for pickup, {{overdue}} past the threshold.</p>{{/deliveries}}
        {{/status}}
        {{>charts}}
        {{#status}}
        <h2>Latest job runs</h2>
        <table><thead><tr><th>Job</th><th>Key</th><th>State</th><th>Started</th><th>Files</th><th>Records</th></tr></thead><tbody>
        {{#jobs}}<tr><td>{{job}}</td><td>{{key}}</td><td>{{state}}</td><td>{{startedLocal}}</td><td>{{files}}</td><td>{{records}}</td></tr>{{/jobs}}
        </tbody></table>
        <h2>Participants</h2>
        <table><thead><tr><th>Participant</th><th>Class</th><th>In inbound</th><th>Last file</th></tr></thead><tbody>
        {{#participants}}<tr><td><a href="/participants/{{orgId}}" title="The participant's pages, as its clerks see them">{{orgId}} {{name}}</a></td><td>{{classification}}</td><td>{{waitingInInbound}}</td>
          <td>{{#lastReceipt}}<a href="/receipts/{{id}}">{{receivedLocal}} {{type}} {{outcome}}</a>{{/lastReceipt}}{{^lastReceipt}}none yet{{/lastReceipt}}</td></tr>{{/participants}}
        </tbody></table>
        {{/status}}
        {{/content}}{{/layout}}
        """

    static let organisationHome = """
        {{<layout}}{{$content}}
        <section class="summary">
        {{#month}}<p>In the last 30 days you sent <strong>{{files}}</strong> file(s): {{rejected}} rejected, {{partly}} partly accepted.</p>{{/month}}
        <p><a href="{{base}}/outbound"><strong>{{waiting}}</strong> file(s) wait in your outbound folder</a>{{#overdue}}, {{overdue}} of them for more than {{threshold}} hours{{/overdue}}.</p>
        <p><a href="{{base}}/check">Check a file before sending it</a>: it is judged as the exchange would judge it now, and kept nowhere.</p>
        </section>
        {{>charts}}
        <h2>Your latest files</h2>
        {{>receiptTable}}
        {{^receipts}}<p class="note">No files yet.</p>{{/receipts}}
        {{/content}}{{/layout}}
        """

    static let organisationReceipt = """
        {{<layout}}{{$content}}
        {{#receipt}}
        <dl class="facts">
          <dt>File</dt><dd>{{file}} ({{sizeBytes}} bytes)</dd>
          <dt>Type</dt><dd>{{type}} {{typeName}} {{binding}}</dd>
          <dt>Received</dt><dd>{{receivedLocal}}</dd>
          <dt>Acknowledged</dt><dd>{{acknowledgedLocal}}{{^acknowledgedLocal}}not yet ({{state}}){{/acknowledgedLocal}}</dd>
          <dt>Outcome</dt><dd><span class="badge outcome-{{outcome}}" id="outcome">{{outcome}}</span>
            {{recordsReceived}} records received, {{recordsAccepted}} accepted, {{recordsRejected}} rejected, {{errorCount}} errors</dd>
          {{#duplicateOf}}<dt>Same bytes as</dt><dd><a href="{{duplicateOfHref}}">your earlier file</a>: nothing was applied again</dd>{{/duplicateOf}}
          {{#reprocessOf}}<dt>Judged again by KTS support from</dt><dd><a href="{{reprocessOfHref}}">{{reprocessOf}}</a></dd>{{/reprocessOf}}
          {{#reprocessReason}}<dt>Why</dt><dd>{{reprocessReason}}</dd>{{/reprocessReason}}
          <dt>Receipt</dt><dd>{{id}}</dd>
        </dl>
        {{#retired}}<p class="note" id="retired">School year {{schoolYear}} was retired from the exchange: this file's errors and outputs are no longer shown here. Ask KTS support if you need them.</p>{{/retired}}
        <h2>What the exchange wrote</h2>
        {{>outputsTable}}
        {{/receipt}}
        {{>errorRows}}
        {{/content}}{{/layout}}
        """

    static let organisationOutbound = """
        {{<layout}}{{$content}}
        <p>Files the exchange wrote for you. Downloading a file here does not take it: it stays until you delete it over SFTP or mark it taken. Files waiting more than {{threshold}} hours are reported to KTS support.</p>
        <h2>Waiting</h2>
        <table id="waiting">
          <thead><tr><th>File</th><th>Written</th><th>Waiting</th><th></th></tr></thead>
          <tbody>
          {{#waiting}}<tr{{#overdue}} class="overdue"{{/overdue}}><td><a href="{{href}}" download>{{file}}</a></td><td>{{deliveredLocal}}</td><td>{{hoursWaiting}} h</td>
            <td>{{#mayTake}}<form method="post" action="{{href}}/taken"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Mark as taken</button></form>{{/mayTake}}</td></tr>{{/waiting}}
          </tbody>
        </table>
        {{^waiting}}<p class="ok">Nothing waits in your outbound folder.</p>{{/waiting}}
        <h2>Taken in the last {{takenDays}} days</h2>
        <table id="taken">
          <thead><tr><th>File</th><th>Written</th><th>Taken</th></tr></thead>
          <tbody>
          {{#taken}}<tr><td>{{file}}</td><td>{{deliveredLocal}}</td><td>{{pickedUpLocal}}</td></tr>{{/taken}}
          </tbody>
        </table>
        {{/content}}{{/layout}}
        """

    static let organisationAttendance = """
        {{<layout}}{{$content}}
        <form method="get" action="{{base}}/attendance" class="filters">
          <label>From <input type="date" name="from" value="{{from}}"></label>
          <label>To <input type="date" name="to" value="{{to}}"></label>
          <label>Show <select name="view"><option value="student">per student</option><option value="section"{{#bySection}} selected{{/bySection}}>per course section</option></select></label>
          <button type="submit">Show</button>
        </form>
        {{#problem}}<p class="error" role="alert">{{problem}}</p>{{/problem}}
        {{^problem}}
        <p>Your students' attendance at the technical centers from {{from}} to {{to}}, as the centers' records stand now: a record a center corrected shows as corrected, one it withdrew not at all. <span class="badge unknown">unknown</span> marks an absence whose excuse the center does not know yet; <span class="badge resolved">resolved</span> one you were sent as unknown that the center has since settled.</p>
        {{#totals}}<p class="count" id="totals">{{count}} record(s): {{present}} present, {{absent}} absent, {{tardy}} tardy, {{early}} left early; {{unknown}} unknown, {{resolved}} resolved.</p>{{/totals}}
        <p><a href="{{exportHref}}" id="export">Download as CSV</a> · {{#bySection}}<a href="{{studentHref}}">per student</a>{{/bySection}}{{^bySection}}<a href="{{sectionHref}}">per course section</a>{{/bySection}}</p>
        {{^bySection}}
        {{#students}}
        <h2 class="student">{{name}}{{^name}}State ID {{ssid}}{{/name}} <span class="note">{{ssid}}{{#localNumber}} · {{localNumber}}{{/localNumber}}</span></h2>
        {{#totals}}<p class="count">{{present}} present, {{absent}} absent, {{tardy}} tardy, {{early}} left early{{#unknown}}, {{unknown}} unknown{{/unknown}}</p>{{/totals}}
        <table class="attendance">
          <thead><tr><th>Day</th><th>Center</th><th>Course</th><th>Period</th><th>Status</th><th>Excuse</th><th>Minutes</th><th>Arrived</th><th>Left</th></tr></thead>
          <tbody>
          {{#entries}}<tr class="status-{{status}}"><td>{{date}}</td><td>{{center}} {{centerName}}</td><td>{{course}} {{section}}</td><td>{{period}}</td><td>{{status}}</td>
            <td>{{excuse}}{{#unknown}} <span class="badge unknown">unknown</span>{{/unknown}}{{#resolved}} <span class="badge resolved">resolved</span>{{/resolved}}</td><td>{{minutes}}</td><td>{{arrival}}</td><td>{{departure}}</td></tr>{{/entries}}
          </tbody>
        </table>
        {{/students}}
        {{/bySection}}
        {{#bySection}}
        {{#sections}}
        <h2 class="section">{{center}} {{centerName}} · {{#wholeDay}}whole day{{/wholeDay}}{{^wholeDay}}{{course}} {{section}}{{/wholeDay}}</h2>
        {{#totals}}<p class="count">{{present}} present, {{absent}} absent, {{tardy}} tardy, {{early}} left early{{#unknown}}, {{unknown}} unknown{{/unknown}}</p>{{/totals}}
        <table class="attendance">
          <thead><tr><th>Day</th><th>Student</th><th>Period</th><th>Status</th><th>Excuse</th><th>Minutes</th><th>Arrived</th><th>Left</th></tr></thead>
          <tbody>
          {{#entries}}<tr class="status-{{status}}"><td>{{date}}</td><td>{{studentName}} <span class="note">{{ssid}}</span></td><td>{{period}}</td><td>{{status}}</td>
            <td>{{excuse}}{{#unknown}} <span class="badge unknown">unknown</span>{{/unknown}}{{#resolved}} <span class="badge resolved">resolved</span>{{/resolved}}</td><td>{{minutes}}</td><td>{{arrival}}</td><td>{{departure}}</td></tr>{{/entries}}
          </tbody>
        </table>
        {{/sections}}
        {{/bySection}}
        {{^count}}<p class="note">No attendance from the centers for these days.</p>{{/count}}
        {{/problem}}
        {{/content}}{{/layout}}
        """

    static let organisationRoster = """
        {{<layout}}{{$content}}
        <form method="get" action="{{base}}/roster" class="filters">
          <label>Day <input type="date" name="date" value="{{date}}"></label>
          <button type="submit">Show</button>
          <a href="{{previous}}">← day before</a> <a href="{{next}}">day after →</a>
        </form>
        {{#problem}}<p class="error" role="alert">{{problem}}</p>{{/problem}}
        <p id="roster-summary">{{#instructional}}{{date}} is an instructional day: {{missing}} enrolled student(s) have no attendance from you yet.{{/instructional}}{{^instructional}}{{date}} is not an instructional day on your calendar.{{/instructional}}</p>
        {{#sections}}
        <h2 class="section">{{course}} {{section}} <span class="note">{{count}} student(s){{#missing}}, {{missing}} without attendance{{/missing}}</span></h2>
        <table class="roster">
          <thead><tr><th>Student</th><th>State ID</th><th>High school</th><th>Grade</th><th>Attendance sent</th></tr></thead>
          <tbody>
          {{#students}}<tr{{#missing}} class="missing"{{/missing}}><td>{{name}}</td><td>{{ssid}}</td><td>{{homeSchool}}</td><td>{{grade}}</td><td>{{statuses}}{{#missing}}<span class="badge unknown">none yet</span>{{/missing}}</td></tr>{{/students}}
          </tbody>
        </table>
        {{/sections}}
        {{^sections}}<p class="note">No students are enrolled with you on this day.</p>{{/sections}}
        {{/content}}{{/layout}}
        """

    static let organisationCheck = """
        {{<layout}}{{$content}}
        <p>Choose a file as you would send it (XML or CSV, up to {{maxMegabytes}} MB). It is judged as the exchange would judge it if your organisation sent it now: its form, then each record under the rules, against what the exchange holds. Nothing is kept, applied or sent on.</p>
        {{^available}}<p class="error" role="alert">Checking files is not available on this site.</p>{{/available}}
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        <form method="post" action="{{base}}/check" enctype="multipart/form-data" class="check">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <label>File <input type="file" name="file" required accept=".csv,.xml,text/csv,application/xml,text/xml"></label>
          <button type="submit">Check</button>
        </form>
        {{#result}}
        <h2>{{file}}</h2>
        <p>If you sent it now: <span class="badge outcome-{{outcome}}" id="outcome">{{outcome}}</span>{{#type}} ({{type}}, {{binding}}){{/type}}.</p>
        {{#summary}}<p id="summary">{{summary}}.</p>{{/summary}}
        {{^rulesChecked}}<p id="gate">The file as a whole has problems, listed below; its records were not checked against the rules yet. Fix these and check it again.</p>{{/rulesChecked}}
        {{#accepted}}<p class="ok">Nothing to fix: send it.</p>{{/accepted}}
        {{/result}}
        {{>errorRows}}
        {{/content}}{{/layout}}
        """

    static let message = """
        {{<layout}}{{$content}}
        <p class="error" role="alert">{{message}}</p>
        {{#back}}<p><a href="{{back}}">Back</a></p>{{/back}}
        {{/content}}{{/layout}}
        """

    static let styleSheet = """
        body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1b1f24; background: #fafafa; }
        header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; background: #12355b; color: #fff; flex-wrap: wrap; }
        header a { color: #dfe9f5; text-decoration: none; margin-right: 1rem; }
        header a[aria-current] { color: #fff; font-weight: 600; border-bottom: 2px solid #fff; }
        header .logout { margin-left: auto; }
        main { padding: 1rem 1.2rem; max-width: 1400px; }
        h1 { font-size: 1.4rem; margin: .2rem 0 1rem; }
        h2 { font-size: 1.1rem; margin-top: 1.6rem; }
        table { border-collapse: collapse; width: 100%; background: #fff; }
        th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid #e3e6ea; }
        th { background: #eef1f4; font-weight: 600; }
        .badge { display: inline-block; padding: 0 .4rem; border-radius: .25rem; background: #e3e6ea; font-size: .85rem; }
        .outcome-REJECTED .badge, .badge.outcome-REJECTED, .badge.status-denied { background: #fbd5d5; color: #8a1111; }
        .outcome-ACCEPTED_WITH_ERRORS .badge, .badge.outcome-ACCEPTED_WITH_ERRORS, .badge.status-pending { background: #fdecc8; color: #7a4b00; }
        .outcome-ACCEPTED .badge, .badge.outcome-ACCEPTED, .badge.status-approved { background: #d3f0dc; color: #125c2b; }
        .rows td.text { max-width: 60vw; }
        .rows code { white-space: pre-wrap; overflow-wrap: anywhere; font-size: .85rem; }
        .rows .cell.faulty { background: #ffd54f; color: #000; outline: 1px solid #b8860b; font-weight: 600; }
        .rows tr.offending { background: #fff4f4; }
        .rows tr.context { color: #5b6670; }
        .rows tr.gap td { text-align: center; color: #8a949e; }
        .code { font-family: ui-monospace, monospace; font-weight: 600; color: #8a1111; }
        .field { font-family: ui-monospace, monospace; }
        .mono { font-family: ui-monospace, monospace; font-size: .85rem; }
        .facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
        .facts dt { font-weight: 600; }
        .facts dd { margin: 0; }
        .filters, .login, .decision { display: flex; gap: .8rem; flex-wrap: wrap; align-items: end; margin-bottom: 1rem; }
        .login { flex-direction: column; align-items: start; max-width: 22rem; }
        label { display: flex; flex-direction: column; font-size: .85rem; gap: .15rem; }
        .error { color: #8a1111; }
        .ok { color: #125c2b; }
        .note, .count { color: #5b6670; }
        .organisation { margin: 0; color: #5b6670; }
        .codes { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; }
        .codes dd { margin: 0; }
        .check { flex-direction: column; align-items: start; }
        tr.overdue, tr.missing { background: #fff8e6; }
        .badge.unknown { background: #fdecc8; color: #7a4b00; }
        .badge.resolved { background: #d3f0dc; color: #125c2b; }
        tr.status-A td, tr.status-T td, tr.status-E td { font-weight: 600; }
        .summary p { margin: .3rem 0; }
        .charts { display: flex; flex-wrap: wrap; gap: 1rem 2rem; margin: 1rem 0; }
        .chart { margin: 0; background: #fff; padding: .5rem .8rem; border: 1px solid #e3e6ea; max-width: 100%; }
        .chart svg { max-width: 100%; height: auto; }
        .chart figcaption { font-weight: 600; margin-bottom: .3rem; }
        .legend { font-size: .8rem; color: #5b6670; margin: .2rem 0 0; }
        """
}
