"""What every paginated list shares, from the `paginated` stage on: how `?page_size=` is read."""

from rest_framework import serializers


class StrictPageSize:
    """A pagination mixin: `?page_size=` is a whole number from 1 up, or a 400 that names
    it (`{"page_size": ["A valid integer is required."]}`). A number above
    `max_page_size` gives `max_page_size` rows, as in DRF: a client that asks for more
    than it may have gets what it may have, and `next` for the rest. (A number of more
    than 1,000 digits is refused: DRF will not parse one.)

    DRF's own pagination ignores a page_size it cannot read and serves the default page,
    while its `next` link repeats the bad value: a client's mistake goes unnoticed.
    """

    def get_page_size(self, request):
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        try:
            # DRF's own integer field: its messages, and a limit on the string's length.
            size = serializers.IntegerField(min_value=1).run_validation(value)
        except serializers.ValidationError as error:
            raise serializers.ValidationError({self.page_size_query_param: error.detail}) from None
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = (
                    f"Rows per page: {self.page_size} unless given, at most "
                    f"{self.max_page_size} (a larger number gives {self.max_page_size}). "
                    "Not a whole number from 1 up: a 400."
                )
        return parameters
