"""The CSV download of the queue report wizard (GET, the user's own rights)."""

from odoo import http
from odoo.exceptions import AccessError, UserError
from odoo.http import request


class AxivoxQueueReportController(http.Controller):
    @http.route(
        "/voip_axivox_queue/report/<int:wizard_id>/csv",
        type="http",
        auth="user",
        methods=["GET"],
    )
    def report_csv(self, wizard_id):
        wizard = request.env["axivox.queue.report.wizard"].browse(wizard_id).exists()
        if not wizard:
            raise request.not_found()
        filename, content = wizard._export_csv()
        return _csv_response(filename, content)

    @http.route(
        "/voip_axivox_queue/report/page.csv",
        type="http",
        auth="user",
        methods=["POST"],
    )
    def report_page_csv(self, filters="{}", **kwargs):
        """The report page's Export to CSV: exactly the lines its filters show."""
        try:
            filename, content = request.env["axivox.queue.report"].export_csv(filters)
        except AccessError:
            raise  # 403, like the other report routes
        except UserError as exc:
            return request.make_response(
                exc.args[0],
                status=400,
                headers=[("Content-Type", "text/plain; charset=utf-8")],
            )
        return _csv_response(filename, content)


def _csv_response(filename, content):
    """The CSV download ``filename``."""
    return request.make_response(
        content,
        headers=[
            ("Content-Type", "text/csv; charset=utf-8"),
            ("Content-Disposition", http.content_disposition(filename)),
        ],
    )
