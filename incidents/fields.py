"""Form fields for choosing failure categories, labelled with their full path."""

from django import forms

from incidents.models import FailureCategory


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: FailureCategory) -> str:
        return obj.path


class CategoryMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: FailureCategory) -> str:
        return obj.path
